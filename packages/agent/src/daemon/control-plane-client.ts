import { WebSocket } from 'ws';
import { z } from 'zod';
import { schemas } from '@shellwego/core';
import type {
  DesiredInstanceWire,
  LogRequest,
  NodeAck,
  NodeRegistered,
  NodeStatusReport,
} from '@shellwego/core';
import type { WatchBackoff } from './config.js';
import type { AgentLogger } from './logger.js';

/** The watch message's envelope; each instance is checked on its own so one bad entry does not void the rest. */
const watchEnvelope = z.looseObject({
  revision: z.number().int(),
  instances: z.array(z.unknown()),
});

/** One watch message: the node's full desired state (schemas.desiredState), minus the entries that did not parse. */
export interface WatchMessage {
  revision: number;
  instances: DesiredInstanceWire[];
  /** Ids of entries that failed the schema: the agent leaves those instances as they are rather than stop them. */
  skipped: string[];
}

/** Parses a watch message; entries failing schemas.desiredInstance are logged and skipped, not fatal. */
export function parseWatchMessage(raw: unknown, logger: AgentLogger): WatchMessage {
  const envelope = watchEnvelope.parse(raw);
  const out: WatchMessage = { revision: envelope.revision, instances: [], skipped: [] };
  for (const entry of envelope.instances) {
    const parsed = schemas.desiredInstance.safeParse(entry);
    if (parsed.success) {
      out.instances.push(parsed.data);
      continue;
    }
    const id = z.object({ id: z.string() }).safeParse(entry).data?.id;
    if (id !== undefined) out.skipped.push(id);
    logger.warn(
      { instance: id ?? null, err: z.prettifyError(parsed.error) },
      'skipping a desired instance that does not match the schema',
    );
  }
  return out;
}

/** The watch carries desired states and, marked `type: 'logs'`, log requests. */
function isLogRequestMessage(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { type?: unknown }).type === 'logs';
}

export type RegisterBody = z.input<typeof schemas.nodeRegister>;

/** A non-2xx answer of the control plane, with its error code when it sent one. */
export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

export interface WatchHandlers {
  onState(state: WatchMessage): void;
  /** A log request ({type: 'logs'}) arrived; answer it through logSocket(). */
  onLogRequest?(request: LogRequest): void;
  onOpen?(): void;
  onClose?(code: number, reason: string): void;
}

export interface Watch {
  /** Stops reconnecting and closes the socket. */
  close(): void;
}

/** The agent's side of the node protocol over HTTP and one WebSocket (ARCHITECTURE.md "Control plane ↔ agent"). */
export class ControlPlaneClient {
  private nodeId: string | undefined;
  private credential: string | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly opts: { timeoutMs: number; backoff: WatchBackoff; logger: AgentLogger },
  ) {}

  /** Uses the node credential for every later call. */
  authenticate(nodeId: string, credential: string): void {
    this.nodeId = nodeId;
    this.credential = credential;
  }

  async register(body: RegisterBody): Promise<NodeRegistered> {
    return schemas.nodeRegistered.parse(await this.call('POST', '/v1/nodes/register', body, false));
  }

  async reportStatus(report: NodeStatusReport): Promise<NodeAck> {
    return schemas.nodeAck.parse(await this.call('POST', `${this.nodePath()}/status`, report, true));
  }

  /** A wasm module a release placed on this node names, verified by the caller against its digest. */
  async artifact(digest: string): Promise<Buffer> {
    const body = schemas.artifactContent.parse(
      await this.call('GET', `${this.nodePath()}/artifacts/${encodeURIComponent(digest)}`, undefined, true),
    );
    return Buffer.from(body.content_base64, 'base64');
  }

  async heartbeat(): Promise<NodeAck> {
    return schemas.nodeAck.parse(await this.call('POST', `${this.nodePath()}/heartbeat`, undefined, true));
  }

  /**
   * Keeps one watch socket open, reconnecting with exponential backoff (reset once a socket opens). The protocol is
   * level-triggered, so every (re)connect simply delivers the full desired state again.
   */
  watch(handlers: WatchHandlers): Watch {
    const url = new URL(`${this.nodePath()}/watch`, this.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const { logger, backoff } = this.opts;
    let closed = false;
    let attempt = 0;
    let socket: WebSocket | undefined;
    let timer: NodeJS.Timeout | undefined;

    const connect = (): void => {
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${this.credential ?? ''}` },
        handshakeTimeout: this.opts.timeoutMs,
      });
      socket = ws;
      ws.on('open', () => {
        attempt = 0;
        handlers.onOpen?.();
      });
      ws.on('message', (data: Buffer) => {
        let raw: unknown;
        let state: WatchMessage;
        try {
          raw = JSON.parse(data.toString('utf8'));
          if (isLogRequestMessage(raw)) {
            const request = schemas.logRequest.safeParse(raw);
            if (request.success) handlers.onLogRequest?.(request.data);
            else logger.warn({ err: z.prettifyError(request.error) }, 'ignoring a malformed log request');
            return;
          }
          state = parseWatchMessage(raw, logger);
        } catch (err) {
          logger.warn({ err }, 'ignoring a malformed watch message');
          return;
        }
        handlers.onState(state);
      });
      // 'error' is always followed by 'close'; reconnecting happens there, once.
      ws.on('error', (err) => logger.debug({ err: err.message }, 'watch socket error'));
      ws.on('close', (code, reason) => {
        handlers.onClose?.(code, reason.toString('utf8'));
        if (closed) return;
        const delay = backoffDelay(backoff, attempt++);
        logger.info({ code, delay_ms: delay }, 'watch closed; reconnecting');
        timer = setTimeout(connect, delay);
      });
    };
    connect();
    return {
      close: () => {
        closed = true;
        clearTimeout(timer);
        socket?.close(1000, 'agent stopping');
        // A socket still connecting would wait for its handshake; nothing is in flight worth waiting for.
        if (socket?.readyState === WebSocket.CONNECTING) socket.terminate();
      },
    };
  }

  /**
   * Dials back to the control plane for log request `requestId` (the control plane never dials a node). The caller
   * sends the lines and closes the socket.
   */
  logSocket(requestId: string): WebSocket {
    const url = new URL(`${this.nodePath()}/logs/${encodeURIComponent(requestId)}`, this.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new WebSocket(url, {
      headers: { authorization: `Bearer ${this.credential ?? ''}` },
      handshakeTimeout: this.opts.timeoutMs,
    });
  }

  private nodePath(): string {
    if (this.nodeId === undefined) throw new Error('the node is not registered yet');
    return `/v1/nodes/${encodeURIComponent(this.nodeId)}`;
  }

  private async call(method: string, path: string, body: unknown, auth: boolean): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = `Bearer ${this.credential ?? ''}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    const text = await res.text();
    const parsed: unknown = text === '' ? null : safeJson(text);
    if (!res.ok) {
      const err = z
        .object({ code: z.string(), message: z.string() })
        .safeParse(z.object({ error: z.unknown() }).safeParse(parsed).data?.error ?? parsed);
      throw new ControlPlaneError(
        res.status,
        err.data?.code,
        `${method} ${path}: ${res.status} ${err.data?.message ?? text.slice(0, 200)}`,
      );
    }
    return parsed;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Exponential with full jitter in its upper half, so many agents do not reconnect in lockstep. */
export function backoffDelay(b: WatchBackoff, attempt: number): number {
  const ceiling = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
