import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { noApp, type EdgeMetrics } from '../observability/metrics.js';
import type { ResolvedRoute, RouteStore, RouteTarget } from '../routes/route-store.js';
import type { Upstream } from '../routes/upstream.js';
import { pickTarget } from './balancer.js';
import { errorPage } from './error-pages.js';
import { clientResponseHeaders, requestIdOf, upstreamRequestHeaders } from './headers.js';
import type { RateLimiter } from './rate-limiter.js';
import { relayBody } from './relay-body.js';
import { lazyRequestBody } from './request-body.js';
import {
  canRetry,
  classifyUpstreamError,
  marksUpstreamDown,
  type UpstreamErrorKind,
} from './upstream-errors.js';

export type EdgeRequest = IncomingMessage | Http2ServerRequest;
export type EdgeResponse = ServerResponse | Http2ServerResponse;

export interface ProxyHandlerOptions {
  store: RouteStore;
  metrics: EdgeMetrics;
  logger: Logger;
  proto: 'http' | 'https';
  /** Other upstreams to try after a failure that allows it. */
  retries: number;
  /** How long an upstream that failed a connection is skipped. */
  passiveDownMs: number;
  rateLimiter: RateLimiter | undefined;
  /** The HTTPS URL a plain-HTTP request is redirected to (308), when its host has a certificate. */
  redirect: ((host: string, path: string) => string | undefined) | undefined;
  /** How long a request for an unknown ACME token waits for a table that brings it (0: not at all). */
  challengeWaitMs: number;
  /** While draining, HTTP/1.1 responses carry `Connection: close` so keep-alive clients let go. */
  isDraining: () => boolean;
}

/** What the access log and the metrics learn about one request as it goes. */
interface Exchange {
  readonly started: number;
  readonly requestId: string;
  route: ResolvedRoute | undefined;
  upstream: string | undefined;
  bytes: number;
}

/** The request handler for node:http and the node:http2 compat API alike. */
export function createProxyHandler(
  options: ProxyHandlerOptions,
): (req: EdgeRequest, res: EdgeResponse) => void {
  return (req, res) => {
    const exchange: Exchange = {
      started: performance.now(),
      requestId: requestIdOf(req.headers),
      route: undefined,
      upstream: undefined,
      bytes: 0,
    };
    res.once('close', () => record(options, req, res, exchange));
    proxy(options, req, res, exchange).catch((error: unknown) => {
      // A bug, not an upstream failure (those are handled in proxy): log it with its stack, answer 502 if we can.
      options.logger.error({ err: error, request_id: exchange.requestId }, 'proxy handler failed');
      if (!res.headersSent) sendPage(options, res, 502, exchange);
      else res.destroy();
    });
  };
}

function hostOf(req: EdgeRequest): string | undefined {
  const authority = req.headers[':authority'];
  return typeof authority === 'string' ? authority : req.headers.host;
}

function clientAddressOf(req: EdgeRequest): string {
  const address = req.socket?.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function hasRequestBody(req: EdgeRequest): boolean {
  if ('stream' in req) return !req.stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function pathOf(url: string): string | undefined {
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url); // absolute-form request target
    return parsed.pathname + parsed.search;
  } catch {
    return undefined;
  }
}

/**
 * One request: rate limit, route by host, then up to 1 + `retries` attempts on upstreams picked by the balancer.
 * A failed attempt is retried only when `canRetry` says the app cannot have acted on it.
 */
async function proxy(options: ProxyHandlerOptions, req: EdgeRequest, res: EdgeResponse, exchange: Exchange) {
  const { requestId } = exchange;
  const isChallenge = answerAcmeChallenge(options, req, res, exchange);
  if (isChallenge === true || (isChallenge !== false && (await isChallenge))) return;
  const clientAddress = clientAddressOf(req);
  if (options.rateLimiter !== undefined) {
    const retryAfter = options.rateLimiter.take(clientAddress, Date.now());
    if (retryAfter > 0) return sendPage(options, res, 429, exchange, { 'retry-after': String(retryAfter) });
  }
  const host = hostOf(req);
  const location = host === undefined ? undefined : options.redirect?.(host, req.url ?? '/');
  if (location !== undefined) return sendPage(options, res, 308, exchange, { location });
  const route = options.store.lookup(host);
  exchange.route = route;
  if (route === undefined || host === undefined) return sendPage(options, res, 404, exchange);
  const method = req.method ?? 'GET';
  const path = pathOf(req.url ?? '/');
  if (path === undefined || method === 'CONNECT') return sendPage(options, res, 400, exchange);

  const headers = upstreamRequestHeaders(req.headers, {
    clientAddress,
    proto: options.proto,
    host,
    requestId,
  });
  const hasBody = hasRequestBody(req);
  let hasBodyStarted = false;
  // undici takes an EventEmitter as abort signal: much cheaper per request than an AbortController.
  const abort = new EventEmitter();
  let isClientGone = false;
  res.once('close', () => {
    if (!res.writableEnded) {
      isClientGone = true;
      abort.emit('abort');
    }
  });

  const tried = new Set<RouteTarget>();
  let lastKind: UpstreamErrorKind | undefined;
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    const now = Date.now();
    const target = pickTarget(route, tried, now);
    if (target === undefined) break;
    tried.add(target);
    const { upstream } = target;
    exchange.upstream = upstream.address;
    upstream.outstanding++;
    let response: Dispatcher.ResponseData;
    try {
      try {
        response = await upstream.pool.request({
          method,
          path,
          headers,
          body: hasBody ? lazyRequestBody(req, () => (hasBodyStarted = true)) : null,
          signal: abort,
        });
      } catch (error) {
        if (isClientGone) return;
        lastKind = noteFailure(options, route, upstream, error, now);
        if (canRetry(lastKind, method, hasBodyStarted)) continue;
        break;
      }
      await relayResponse(options, res, response, exchange, route);
      return;
    } finally {
      upstream.outstanding--;
    }
  }
  if (isClientGone) return;
  const status = lastKind === undefined ? 503 : lastKind === 'timeout' ? 504 : 502;
  sendPage(options, res, status, exchange);
}

const acmePrefix = '/.well-known/acme-challenge/';

/**
 * HTTP-01 validation: a token the control plane is proving is answered here on any host, before routing and rate
 * limits; unknown tokens go on to the app like any path.
 */
function answerAcmeChallenge(
  options: ProxyHandlerOptions,
  req: EdgeRequest,
  res: EdgeResponse,
  exchange: Exchange,
): boolean | Promise<boolean> {
  const url = req.url;
  if (url === undefined || !url.startsWith(acmePrefix) || (req.method !== 'GET' && req.method !== 'HEAD')) {
    return false;
  }
  const query = url.indexOf('?');
  const token = url.slice(acmePrefix.length, query === -1 ? undefined : query);
  const keyAuthorization = options.store.challengeFor(token);
  if (keyAuthorization !== undefined) {
    sendChallenge(options, res, exchange, keyAuthorization);
    return true;
  }
  if (options.challengeWaitMs <= 0) return false;
  // The control plane asks the CA to validate right after publishing the token: the CA's request may beat the
  // table that carries it here. Hold an unknown token briefly before passing it on to the app.
  return options.store.waitForChallenge(token, options.challengeWaitMs).then((answer) => {
    if (answer === undefined) return false;
    if (!res.destroyed) sendChallenge(options, res, exchange, answer);
    return true;
  });
}

function sendChallenge(
  options: ProxyHandlerOptions,
  res: EdgeResponse,
  exchange: Exchange,
  keyAuthorization: string,
): void {
  exchange.bytes = Buffer.byteLength(keyAuthorization);
  const headers: Record<string, string> = {
    'content-type': 'text/plain',
    'content-length': String(exchange.bytes),
    'cache-control': 'no-store',
    'x-request-id': exchange.requestId,
  };
  if (options.isDraining() && !('stream' in res)) headers.connection = 'close';
  res.writeHead(200, headers);
  res.end(keyAuthorization);
}

/** Counts an upstream failure and marks the upstream down when the failure says it is unwell. */
function noteFailure(
  options: ProxyHandlerOptions,
  route: ResolvedRoute,
  upstream: Upstream,
  error: unknown,
  now: number,
): UpstreamErrorKind {
  const kind = classifyUpstreamError(error);
  if (kind === 'closed') return kind; // our own pool, closed by a route swap: the upstream is fine
  options.metrics.countUpstreamError(route.appName, kind);
  if (marksUpstreamDown(kind) && !upstream.isRetired) {
    if (upstream.isAvailable(now)) {
      options.logger.warn({ upstream: upstream.address, app: route.appName, kind }, 'upstream marked down');
    }
    upstream.markPassiveDown(Date.now(), options.passiveDownMs);
  }
  return kind;
}

async function relayResponse(
  options: ProxyHandlerOptions,
  res: EdgeResponse,
  response: Dispatcher.ResponseData,
  exchange: Exchange,
  route: ResolvedRoute,
): Promise<void> {
  const headers = clientResponseHeaders(response.headers, exchange.requestId);
  if (options.isDraining() && !('stream' in res)) headers.connection = 'close';
  try {
    res.writeHead(response.statusCode, headers);
  } catch (error) {
    // A status or header the client protocol cannot carry (HTTP/2 is stricter than HTTP/1.1): the app's fault.
    response.body.destroy();
    options.logger.warn({ err: error, request_id: exchange.requestId }, 'upstream response not relayable');
    options.metrics.countUpstreamError(route.appName, 'other');
    return sendPage(options, res, 502, exchange);
  }
  const error = await relayBody(response.body, res, (bytes) => (exchange.bytes += bytes));
  if (error !== undefined && !res.writableEnded) {
    // Headers are out: all we can do is cut the response so the client sees it incomplete.
    const kind = classifyUpstreamError(error);
    if (kind !== 'other') options.metrics.countUpstreamError(route.appName, kind);
    res.destroy();
  }
}

function sendPage(
  options: ProxyHandlerOptions,
  res: EdgeResponse,
  status: number,
  exchange: Exchange,
  extra: Record<string, string> = {},
): void {
  const { requestId } = exchange;
  const body = errorPage(status, requestId);
  exchange.bytes = Buffer.byteLength(body);
  const headers: Record<string, string> = {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(exchange.bytes),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...extra,
  };
  if (options.isDraining() && !('stream' in res)) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function record(options: ProxyHandlerOptions, req: EdgeRequest, res: EdgeResponse, exchange: Exchange): void {
  // 499 as nginx logs it: the client went away before the response started.
  const status = res.headersSent ? res.statusCode : 499;
  const seconds = (performance.now() - exchange.started) / 1000;
  const app = exchange.route?.appName ?? noApp;
  options.metrics.observeRequest(app, status, seconds);
  if (!options.logger.isLevelEnabled('info')) return;
  options.logger.info(
    {
      method: req.method,
      host: hostOf(req),
      path: req.url,
      status,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
      upstream: exchange.upstream,
      request_id: exchange.requestId,
      bytes: exchange.bytes,
      app: exchange.route?.appName,
    },
    'request',
  );
}
