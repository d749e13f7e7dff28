import { createServer, type Server } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { PaasError, type EdgeRouteTable } from '@shellwego/core';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { ConnectionTracker } from './connection-tracker.js';
import { ActiveChecker } from './health/active-checker.js';
import { EdgeMetrics } from './observability/metrics.js';
import { httpsRedirector } from './proxy/https-redirect.js';
import { createProxyHandler } from './proxy/proxy-handler.js';
import { RateLimiter, type RateLimitOptions } from './proxy/rate-limiter.js';
import { createUpgradeHandler } from './proxy/upgrade-tunnel.js';
import { normalizeHost } from './routes/host.js';
import { RouteStore } from './routes/route-store.js';
import { Upstream } from './routes/upstream.js';
import type { ListenHandle } from './process/listen-socket.js';
import type { CertificateProvider } from './tls/certificate-provider.js';

/** Timeouts in milliseconds. Client side guards the edge against slow clients; upstream side against slow apps. */
export interface EdgeTimeouts {
  /** Making a TCP connection to an upstream. */
  connectMs: number;
  /** From sending a request to the upstream's response headers (504 after it). */
  upstreamHeadersMs: number;
  /** Longest silence inside an upstream's response body. */
  upstreamIdleMs: number;
  /** How long an idle upstream connection stays in the pool. */
  upstreamKeepAliveMs: number;
  /** A client must send its whole request head within this (slow-header clients are cut off, 408). */
  clientHeadersMs: number;
  /** A client must send its whole request within this; 0 = no limit (large uploads), idle still applies. */
  clientRequestMs: number;
  /** Longest silence on a client connection mid-request. */
  clientIdleMs: number;
  /** How long an idle client keep-alive connection stays open. */
  clientKeepAliveMs: number;
}

export const defaultTimeouts: EdgeTimeouts = {
  connectMs: 5_000,
  upstreamHeadersMs: 60_000,
  upstreamIdleMs: 60_000,
  upstreamKeepAliveMs: 4_000,
  clientHeadersMs: 10_000,
  clientRequestMs: 0,
  clientIdleMs: 120_000,
  clientKeepAliveMs: 5_000,
};

export interface StartEdgeOptions {
  /** Port for plain HTTP; 0 picks a free one. */
  httpPort: number;
  /** Port for HTTPS (HTTP/2 and HTTP/1.1 over TLS); needs `certificates`. Omit to serve plain HTTP only. */
  httpsPort?: number;
  /** Address to listen on. */
  host?: string;
  /**
   * Sockets bound by the edge's cluster primary (see process/): listened on instead of `httpPort`, `httpsPort`
   * and `host`, so that a new worker takes over the very sockets the old one served.
   */
  handles?: { http: ListenHandle; https?: ListenHandle };
  /** Where the last route table is kept across restarts. */
  stateDir: string;
  certificates?: CertificateProvider;
  /** Access log and events; silent when omitted. */
  logger?: Logger;
  /** Where the edge's metrics are registered; a private registry when omitted. */
  metricsRegistry?: Registry;
  timeouts?: Partial<EdgeTimeouts>;
  /** Largest request head accepted, in bytes (431 beyond). Default 16 KiB. */
  maxHeaderSize?: number;
  /** Requests per client address; no limit when omitted. */
  rateLimit?: RateLimitOptions;
  /** Other upstreams a failed request may be sent to (see `canRetry`). Default 2. */
  retries?: number;
  /** How long an upstream that failed a connection is skipped. Default 5 s. */
  passiveDownMs?: number;
  /** Redirect plain HTTP to HTTPS (308) for hostnames that have a certificate of their own. Default true. */
  redirectToHttps?: boolean;
  /**
   * How long a request for an ACME HTTP-01 token the edge does not know yet waits for a route table that brings it,
   * before it goes on to the app. The CA may validate before the table reaches the edge. Default 0 (no wait).
   */
  acmeChallengeWaitMs?: number;
  /** Active health checks; `false` turns them off. Default every 5 s with a 2 s timeout, 32 checks at a time. */
  healthCheck?: { intervalMs: number; timeoutMs?: number; concurrency?: number } | false;
}

export interface EdgeServer {
  readonly httpPort: number;
  readonly httpsPort: number | undefined;
  readonly metricsRegistry: Registry;
  /** Revision of the table being served (0 before any). */
  readonly revision: number;
  /** Serves `table` from now on; resolves once it is persisted to the state dir. */
  swap(table: EdgeRouteTable): Promise<void>;
  /** Answers these ACME HTTP-01 challenges at once, before the table carrying them is swapped in. */
  answerChallenges(table: Pick<EdgeRouteTable, 'revision' | 'challenges'>): void;
  /** Runs one round of active health checks now (also when periodic checks are off). */
  checkHealth(): Promise<void>;
  /** Stops accepting, lets requests in flight finish for up to `drainMs` (default 10 s), then closes the rest. */
  close(options?: { drainMs?: number }): Promise<void>;
}

/**
 * Starts the edge: loads the last route table from `stateDir` before listening, so it routes from its first
 * second, then serves HTTP (and HTTPS when given a port and certificates) until `close`.
 */
export async function startEdge(options: StartEdgeOptions): Promise<EdgeServer> {
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? pino({ level: 'silent' });
  const metricsRegistry = options.metricsRegistry ?? new Registry();
  const metrics = new EdgeMetrics(metricsRegistry);
  const retries = options.retries ?? 2;
  const passiveDownMs = options.passiveDownMs ?? 5_000;
  const maxHeaderSize = options.maxHeaderSize ?? 16 * 1024;
  if (options.httpsPort !== undefined && options.certificates === undefined) {
    throw new PaasError('VALIDATION_FAILED', 'The edge cannot serve HTTPS without certificates.', {
      field: 'certificates',
      hint: 'Pass a CertificateProvider in `certificates`, or leave `httpsPort` out to serve plain HTTP only.',
    });
  }

  const store = new RouteStore({
    stateDir: options.stateDir,
    logger,
    createUpstream: (address) =>
      new Upstream(address, {
        connectTimeoutMs: timeouts.connectMs,
        headersTimeoutMs: timeouts.upstreamHeadersMs,
        idleTimeoutMs: timeouts.upstreamIdleMs,
        keepAliveTimeoutMs: timeouts.upstreamKeepAliveMs,
      }),
  });
  if (await store.load())
    logger.info({ revision: store.revision }, 'serving the route table from the last run');

  const rateLimiter = options.rateLimit === undefined ? undefined : new RateLimiter(options.rateLimit);
  const connections = new ConnectionTracker(metrics);
  const challengeWaitMs = options.acmeChallengeWaitMs ?? 0;
  const common = { store, metrics, logger, retries, passiveDownMs, rateLimiter };
  // Set once the HTTPS port is bound (it may be 0 until then).
  let redirectToHttps: ((host: string, path: string) => string | undefined) | undefined;
  const handlerFor = (proto: 'http' | 'https') =>
    connections.wrapRequests(
      createProxyHandler({
        ...common,
        proto,
        challengeWaitMs,
        redirect: proto === 'http' ? (host, path) => redirectToHttps?.(host, path) : undefined,
        isDraining: () => connections.isDraining,
      }),
    );
  const upgradeFor = (proto: 'http' | 'https') =>
    connections.wrapUpgrades(
      createUpgradeHandler({ ...common, proto, connectTimeoutMs: timeouts.connectMs }),
    );

  // Node checks header/request timeouts on this interval; its 30 s default would let slow clients linger.
  const connectionsCheckingInterval = Math.max(50, Math.min(1_000, Math.floor(timeouts.clientHeadersMs / 4)));
  const clientLimits = {
    maxHeaderSize,
    headersTimeout: timeouts.clientHeadersMs,
    requestTimeout: timeouts.clientRequestMs,
    keepAliveTimeout: timeouts.clientKeepAliveMs,
    connectionsCheckingInterval,
  };
  const http = createServer(clientLimits, handlerFor('http'));
  http.setTimeout(timeouts.clientIdleMs);
  http.on('upgrade', upgradeFor('http'));
  connections.watch(http);

  let https: Http2SecureServer | undefined;
  if (options.httpsPort !== undefined && options.certificates !== undefined) {
    const certificates = options.certificates;
    https = createSecureServer(
      {
        allowHTTP1: true,
        settings: { maxHeaderListSize: maxHeaderSize },
        // No certificate outside SNI: a client that sends no server name fails the handshake, as no name means
        // no way to pick the right certificate.
        SNICallback: (servername, callback) => {
          const name = normalizeHost(servername);
          callback(
            null,
            (name === undefined ? undefined : certificates.contextFor(name)) ?? certificates.default(),
          );
        },
      },
      handlerFor('https'),
    );
    // node:http2 hands HTTP/1.1 connections to node:http's connection listener, which reads these limits from the
    // server object; Http2SecureServer neither takes them as options nor declares them, so they are set here.
    Object.assign(https, clientLimits);
    https.setTimeout(timeouts.clientIdleMs);
    https.on('upgrade', upgradeFor('https'));
    https.on('session', (session: Http2Session) => connections.addSession(session));
    connections.watch(https);
  }

  const healthCheck = options.healthCheck === false ? undefined : options.healthCheck;
  const checker = new ActiveChecker({
    store,
    logger,
    intervalMs: healthCheck?.intervalMs ?? 5_000,
    timeoutMs: healthCheck?.timeoutMs ?? 2_000,
    ...(healthCheck?.concurrency === undefined ? {} : { concurrency: healthCheck.concurrency }),
  });

  let httpsPort: number | undefined;
  try {
    await listen(http, options.handles?.http ?? options.httpPort, host);
    if (https !== undefined) {
      httpsPort = await listen(https, options.handles?.https ?? options.httpsPort ?? 0, host);
    }
  } catch (error) {
    http.close();
    https?.close();
    await store.close();
    throw error;
  }
  if (httpsPort !== undefined && options.certificates !== undefined && options.redirectToHttps !== false) {
    redirectToHttps = httpsRedirector(options.certificates, httpsPort);
  }
  for (const server of https === undefined ? [http] : [http, https]) {
    // Accept failures (EMFILE, …) must not crash the edge; Node retries accepting on its own.
    server.on('error', (error) => logger.error({ err: error }, 'edge server error'));
  }
  if (options.healthCheck !== false) checker.start();
  // Listening on host:port (not a pipe), so address() is an AddressInfo.
  const httpPort = (http.address() as AddressInfo).port;
  logger.info({ httpPort, httpsPort, host }, 'edge listening');

  let closing: Promise<void> | undefined;
  return {
    httpPort,
    httpsPort,
    metricsRegistry,
    get revision() {
      return store.revision;
    },
    swap: (table) => store.swap(table),
    answerChallenges: (table) => store.setChallenges(table.revision, table.challenges),
    checkHealth: () => checker.runOnce(),
    close: ({ drainMs = 10_000 } = {}) =>
      (closing ??= (async () => {
        const servers = https === undefined ? [http] : [http, https];
        // Stop accepting with net's close: node:http's own close() also destroys idle keep-alive connections at
        // once, and a client may be sending its next request on one of them right now. The drain closes them
        // once they stay idle.
        const closed = servers.map(
          (server) => new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve())),
        );
        await connections.drain(drainMs);
        await Promise.all(closed);
        // node:http's close() now only stops its connection-checking timer (nothing is left to close).
        for (const server of servers) server.close();
        await checker.stop();
        await store.close();
        logger.info('edge closed');
      })()),
  };
}

function listen(
  server: Server | Http2SecureServer,
  where: number | ListenHandle,
  host: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onListening = () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port); // TCP, so an AddressInfo
    };
    server.once('error', reject);
    if (typeof where === 'number') server.listen(where, host, onListening);
    else server.listen(where, onListening);
  });
}
