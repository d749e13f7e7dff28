import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { noApp, type EdgeMetrics } from '../observability/metrics.js';
import type { RouteStore, RouteTarget } from '../routes/route-store.js';
import type { Upstream } from '../routes/upstream.js';
import { pickTarget } from './balancer.js';
import { errorPage } from './error-pages.js';
import { requestIdOf } from './headers.js';
import type { RateLimiter } from './rate-limiter.js';

export interface UpgradeHandlerOptions {
  store: RouteStore;
  metrics: EdgeMetrics;
  logger: Logger;
  proto: 'http' | 'https';
  retries: number;
  passiveDownMs: number;
  connectTimeoutMs: number;
  rateLimiter: RateLimiter | undefined;
}

const statusText: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

// Set by the edge, never taken from the client.
const setByEdge = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);

/**
 * HTTP/1.1 `Upgrade` (WebSocket) through the edge: a raw TCP connection to an upstream picked like any request,
 * the request head written again with X-Forwarded-* added, then bytes piped both ways until either side closes.
 * Hand-written because undici's `upgrade()` hands back a socket only after the upstream's 101, which would make
 * the edge parse and rewrite the handshake; piping the bytes keeps the edge out of the WebSocket protocol.
 */
export function createUpgradeHandler(
  options: UpgradeHandlerOptions,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    tunnel(options, req, socket, head).catch((error: unknown) => {
      options.logger.error({ err: error }, 'upgrade handler failed');
      socket.destroy();
    });
  };
}

async function tunnel(options: UpgradeHandlerOptions, req: IncomingMessage, socket: Duplex, head: Buffer) {
  const requestId = requestIdOf(req.headers);
  const rawAddress = req.socket.remoteAddress ?? '';
  const clientAddress = rawAddress.startsWith('::ffff:') ? rawAddress.slice(7) : rawAddress;
  if (options.rateLimiter !== undefined && options.rateLimiter.take(clientAddress, Date.now()) > 0) {
    return refuse(options, socket, 429, requestId, noApp);
  }
  const host = req.headers.host;
  const route = options.store.lookup(host);
  if (route === undefined || host === undefined) return refuse(options, socket, 404, requestId, noApp);

  const tried = new Set<RouteTarget>();
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    const target = pickTarget(route, tried, Date.now());
    if (target === undefined) break;
    tried.add(target);
    const { upstream } = target;
    upstream.outstanding++;
    let conn: Socket;
    try {
      conn = await connectUpstream(upstream, options.connectTimeoutMs);
    } catch (error) {
      upstream.outstanding--;
      options.metrics.countUpstreamError(route.appName, 'connect');
      upstream.markPassiveDown(Date.now(), options.passiveDownMs);
      options.logger.warn(
        { err: error, upstream: upstream.address, app: route.appName },
        'upstream marked down',
      );
      continue;
    }
    if (socket.destroyed) {
      upstream.outstanding--;
      conn.destroy();
      return;
    }
    conn.write(requestHead(req, { clientAddress, proto: options.proto, host, requestId }));
    if (head.length > 0) conn.write(head);
    splice(socket, conn, () => {
      upstream.outstanding--;
      options.metrics.requests.inc({ app: route.appName, status_class: '1xx' });
      options.logger.info(
        {
          method: req.method,
          host,
          path: req.url,
          status: 101,
          upstream: upstream.address,
          request_id: requestId,
          bytes: conn.bytesRead,
          app: route.appName,
        },
        'upgrade closed',
      );
    });
    return;
  }
  refuse(options, socket, tried.size === 0 ? 503 : 502, requestId, route.appName);
}

function connectUpstream(upstream: Upstream, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const conn = connect({ host: upstream.host, port: upstream.port });
    const timer = setTimeout(() => {
      conn.destroy();
      reject(
        Object.assign(new Error(`connect timeout to ${upstream.address}`), {
          code: 'UND_ERR_CONNECT_TIMEOUT',
        }),
      );
    }, timeoutMs);
    conn.once('connect', () => {
      clearTimeout(timer);
      conn.off('error', onError);
      conn.setNoDelay(true);
      resolve(conn);
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    conn.once('error', onError);
  });
}

/** The request line and headers again, as the upstream must see them, with the edge's X-Forwarded-* headers. */
function requestHead(
  req: IncomingMessage,
  context: { clientAddress: string; proto: string; host: string; requestId: string },
): string {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`;
  let prior: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // rawHeaders alternates name, value; the loop bound keeps both indexes in range.
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') prior = prior === undefined ? value : `${prior}, ${value}`;
    if (setByEdge.has(lower)) continue;
    head += `${name}: ${value}\r\n`;
  }
  const forwardedFor = prior === undefined ? context.clientAddress : `${prior}, ${context.clientAddress}`;
  head += `X-Forwarded-For: ${forwardedFor}\r\nX-Forwarded-Proto: ${context.proto}\r\n`;
  head += `X-Forwarded-Host: ${context.host}\r\nX-Request-Id: ${context.requestId}\r\n\r\n`;
  return head;
}

/** Pipes both ways; when either side ends or fails, both close and `onClose` runs once. */
function splice(client: Duplex, upstream: Socket, onClose: () => void): void {
  let isClosed = false;
  const close = (): void => {
    if (isClosed) return;
    isClosed = true;
    client.destroy();
    upstream.destroy();
    onClose();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  client.pipe(upstream);
  upstream.pipe(client);
}

function refuse(
  options: UpgradeHandlerOptions,
  socket: Duplex,
  status: number,
  requestId: string,
  app: string,
) {
  options.metrics.requests.inc({ app, status_class: `${Math.floor(status / 100)}xx` });
  const body = errorPage(status, requestId);
  socket.end(
    `HTTP/1.1 ${status} ${statusText[status] ?? 'Error'}\r\nContent-Type: text/html; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
