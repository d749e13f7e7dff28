import type { IncomingMessage, Server } from 'node:http';
import type { Http2SecureServer, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { EdgeMetrics } from './observability/metrics.js';
import type { EdgeRequest, EdgeResponse } from './proxy/proxy-handler.js';

/**
 * How long an HTTP/1.x connection must stay idle during a drain before it is closed. A keep-alive client may be
 * sending its next request at the very moment its connection looks idle: closing it then fails that request.
 * Given this long, a busy client's next request arrives first and is answered with `Connection: close`.
 */
const IDLE_GRACE_MS = 1_000;
const DRAIN_POLL_MS = 50;

/** What one HTTP/1.x connection is doing: requests (or a tunnel) in progress, and since when it is idle. */
interface Http1Connection {
  active: number;
  idleSince: number;
}

/**
 * Client connections and requests in flight, for the active-connections gauge and for a graceful drain:
 * stop accepting (the caller closes the listeners), answer with `Connection: close` (HTTP/1.x) or GOAWAY (HTTP/2),
 * close connections that stay idle, let requests in flight finish, then destroy what is left at the deadline.
 */
export class ConnectionTracker {
  isDraining = false;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/1.x connections: plain sockets, and TLS sockets that did not negotiate h2. */
  private readonly http1 = new Map<Duplex, Http1Connection>();
  private inFlight = 0;

  constructor(private readonly metrics: EdgeMetrics) {}

  watch(server: Server | Http2SecureServer): void {
    const isTls = server instanceof TlsServer;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      this.metrics.activeConnections.inc();
      if (!isTls) this.trackHttp1(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.metrics.activeConnections.dec();
      });
    });
    if (isTls) {
      server.on('secureConnection', (socket: TLSSocket) => {
        if (socket.alpnProtocol !== 'h2') this.trackHttp1(socket);
      });
    }
  }

  addSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.isDraining) session.close();
  }

  wrapRequests(handler: (req: EdgeRequest, res: EdgeResponse) => void) {
    return (req: EdgeRequest, res: EdgeResponse): void => {
      this.inFlight++;
      const connection = 'stream' in req ? undefined : this.http1.get(req.socket);
      if (connection !== undefined) connection.active++;
      res.once('close', () => {
        this.inFlight--;
        if (connection !== undefined) {
          connection.active--;
          connection.idleSince = Date.now();
        }
      });
      handler(req, res);
    };
  }

  wrapUpgrades(handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void) {
    return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      this.inFlight++;
      // A tunnel is never idle: the connection ends with it.
      const connection = this.http1.get(socket);
      if (connection !== undefined) connection.active++;
      socket.once('close', () => this.inFlight--);
      handler(req, socket, head);
    };
  }

  /**
   * Drains for up to `drainMs`: HTTP/2 sessions get GOAWAY (streams in flight finish), HTTP/1.x responses from now
   * on carry `Connection: close`, connections idle for IDLE_GRACE_MS are closed; whatever is left at the deadline
   * is destroyed. Call after the listeners stopped accepting.
   */
  async drain(drainMs: number): Promise<void> {
    this.isDraining = true;
    const started = Date.now();
    const deadline = started + drainMs;
    const grace = Math.min(IDLE_GRACE_MS, drainMs);
    for (const session of this.sessions) session.close();
    while (this.sockets.size > 0 || this.inFlight > 0) {
      const now = Date.now();
      if (now >= deadline) break;
      for (const [socket, connection] of this.http1) {
        if (connection.active === 0 && now - Math.max(connection.idleSince, started) >= grace)
          socket.destroy();
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(DRAIN_POLL_MS, deadline - now)));
    }
    for (const session of this.sessions) session.destroy();
    for (const socket of this.http1.keys()) socket.destroy();
    for (const socket of this.sockets) socket.destroy();
  }

  private trackHttp1(socket: Duplex): void {
    this.http1.set(socket, { active: 0, idleSince: Date.now() });
    socket.once('close', () => this.http1.delete(socket));
  }
}
