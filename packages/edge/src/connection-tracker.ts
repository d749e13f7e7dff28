import type { IncomingMessage, Server } from 'node:http';
import type { Http2SecureServer, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EdgeMetrics } from './observability/metrics.js';
import type { EdgeRequest, EdgeResponse } from './proxy/proxy-handler.js';

/**
 * Client connections and requests in flight, for the active-connections gauge and for a graceful drain:
 * stop accepting, close idle connections, let requests in flight finish, then destroy what is left.
 */
export class ConnectionTracker {
  isDraining = false;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  private inFlight = 0;
  private onIdle: (() => void) | undefined;

  constructor(private readonly metrics: EdgeMetrics) {}

  watch(server: Server | Http2SecureServer): void {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      this.metrics.activeConnections.inc();
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.metrics.activeConnections.dec();
      });
    });
  }

  addSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.isDraining) session.close();
  }

  wrapRequests(handler: (req: EdgeRequest, res: EdgeResponse) => void) {
    return (req: EdgeRequest, res: EdgeResponse): void => {
      this.begin();
      res.once('close', () => this.end());
      handler(req, res);
    };
  }

  wrapUpgrades(handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void) {
    return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      this.begin();
      socket.once('close', () => this.end());
      handler(req, socket, head);
    };
  }

  async drain(http: Server, drainMs: number): Promise<void> {
    this.isDraining = true;
    for (const session of this.sessions) session.close(); // GOAWAY: streams in flight finish, no new ones
    http.closeIdleConnections();
    if (this.inFlight > 0) {
      const poll = setInterval(() => http.closeIdleConnections(), 100);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      clearInterval(poll);
      this.onIdle = undefined;
    }
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }

  private begin(): void {
    this.inFlight++;
  }

  private end(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.onIdle?.();
  }
}
