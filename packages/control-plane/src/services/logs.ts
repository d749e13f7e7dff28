import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PaasError, schemas } from '@shellwego/core';
import type { LogLine, LogRequest } from '@shellwego/core';
import type { Actor, Deps } from './context.js';
import { findApp } from './apps.js';
import { authorize } from './authz.js';
import type { NodeIdentity } from './node-protocol.js';

/**
 * Instance logs through a reverse tunnel: the control plane never dials a node (it may sit behind NAT). It asks the
 * node over its watch socket, and the node dials back to `/v1/nodes/{node}/logs/{request}` to send the lines.
 *
 *   open() ──request──▶ waiting ──node attaches──▶ attached ──node closes / tail sent──▶ ended
 *                          │                                        ▲
 *                          └── no watch open, or no attach in time ─┘   (consumer close ends every state)
 */

export interface LogOpenOptions {
  follow: boolean;
  /** Last lines of each instance to send first. */
  tail: number;
  /** Only this instance of the app. */
  instance?: string | undefined;
}

export interface LogBrokerOptions {
  /** A request the node does not attach to within this long ends with no lines from it. */
  attachTimeoutMs: number;
  /** Lines held for a consumer that does not read; the oldest go first beyond it. */
  maxBufferedLines: number;
}

export const defaultLogBrokerOptions: LogBrokerOptions = { attachTimeoutMs: 5000, maxBufferedLines: 100_000 };

/** The node's log socket as the broker sees it: something it can close. */
export interface LogSocket {
  close(code: number, reason: string): void;
}

/** What the node route feeds: each frame the node sends, then the end. */
export interface LogAttachment {
  receive(frame: string): void;
  end(): void;
}

interface Source {
  request: LogRequest;
  nodeId: string;
  session: LogSession;
  state: 'waiting' | 'attached' | 'ended';
  timer: NodeJS.Timeout | undefined;
  socket: LogSocket | undefined;
  received: number;
  lastActivity: number;
}

/**
 * The lines of one open() call, from all its instances in arrival order. Iterating yields every line (those already
 * received first) until all instances ended or close() is called; close() also closes the nodes' sockets.
 */
export class LogSession implements AsyncIterable<LogLine> {
  readonly sources: Source[] = [];
  private readonly buffer: LogLine[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly onClose: () => void;
  private readonly maxBuffered: number;

  /** @internal made by LogBroker.open() */
  constructor(onClose: () => void, maxBuffered: number) {
    this.onClose = onClose;
    this.maxBuffered = maxBuffered;
  }

  /** True once every instance ended (or the session was closed): no more lines will come. */
  get isDone(): boolean {
    return this.closed || this.sources.every((s) => s.state === 'ended');
  }

  /** The lines received and not yet iterated, for a one-shot answer. */
  snapshot(): LogLine[] {
    return [...this.buffer];
  }

  /**
   * Resolves once every instance's tail is in: it ended, or it attached and then sent all `tail` lines or nothing for
   * `quietMs` (a log shorter than the tail); or after `maxMs`, whichever comes first.
   */
  async settled(maxMs: number, quietMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    const tailIn = (s: Source, now: number): boolean =>
      s.state === 'ended' ||
      (s.state === 'attached' && (s.received >= s.request.tail || now - s.lastActivity >= quietMs));
    for (;;) {
      const now = Date.now();
      const calm = this.sources.every((s) => tailIn(s, now));
      if (this.closed || calm || now >= deadline) return;
      await new Promise((r) => setTimeout(r, Math.min(50, deadline - now)));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<LogLine> {
    try {
      for (;;) {
        const next = this.buffer.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.isDone) return;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      this.close();
    }
  }

  /** @internal */
  push(line: LogLine): void {
    if (this.closed) return;
    this.buffer.push(line);
    if (this.buffer.length > this.maxBuffered) this.buffer.shift();
    this.notify();
  }

  /** @internal */
  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Cuts a line to schemas.LOG_LINE_MAX_BYTES of UTF-8 (a split character at the cut is dropped by the decoder). */
export function capLine(line: string): string {
  if (line.length * 3 <= schemas.LOG_LINE_MAX_BYTES) return line;
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= schemas.LOG_LINE_MAX_BYTES) return line;
  return new TextDecoder('utf-8', { fatal: false })
    .decode(bytes.subarray(0, schemas.LOG_LINE_MAX_BYTES))
    .replace(/\uFFFD$/, '');
}

/** Matches log requests with the node sockets that answer them. */
export class LogBroker {
  private readonly requests = new EventEmitter();
  private readonly pending = new Map<string, Source>();

  constructor(
    private readonly deps: Deps,
    private readonly opts: LogBrokerOptions = defaultLogBrokerOptions,
  ) {
    // One listener per open node watch.
    this.requests.setMaxListeners(0);
  }

  /** Calls `listener` with every log request for the node; the node watch route forwards them. Returns unsubscribe. */
  onRequest(nodeId: string, listener: (request: LogRequest) => void): () => void {
    const event = `request:${nodeId}`;
    this.requests.on(event, listener);
    return () => {
      this.requests.off(event, listener);
    };
  }

  /**
   * Asks the node of each running instance of the app (or of `opts.instance`) for its lines. Needs `apps:read` on the
   * app; another tenant's app is APP_NOT_FOUND. The caller must close() or fully iterate the session.
   */
  async open(actor: Actor, appKey: string, opts: LogOpenOptions): Promise<LogSession> {
    const db = this.deps.store.db;
    const app = await findApp(db, actor, appKey);
    authorize(actor, app.org_id, 'apps', 'read', app.id);
    let query = db
      .selectFrom('instances')
      .select(['id', 'node_id'])
      .where('app_id', '=', app.id)
      .where('desired', '=', 'running');
    if (opts.instance !== undefined) query = query.where('id', '=', opts.instance);
    const rows = await query.orderBy('id').execute();
    if (opts.instance !== undefined && rows.length === 0) {
      throw new PaasError('NOT_FOUND', `app ${app.name} has no running instance ${opts.instance}`, {
        field: 'instance',
      });
    }
    const session: LogSession = new LogSession(() => {
      for (const s of session.sources) this.end(s, { code: 1000, reason: 'reader gone' });
    }, this.opts.maxBufferedLines);
    for (const row of rows) {
      const request: LogRequest = {
        type: 'logs',
        // Unguessable, though only the node it was sent to may attach anyway.
        id: `logs_${randomUUID()}`,
        instance_id: row.id,
        follow: opts.follow,
        tail: opts.tail,
      };
      const source: Source = {
        request,
        nodeId: row.node_id,
        session,
        state: 'waiting',
        timer: undefined,
        socket: undefined,
        received: 0,
        lastActivity: Date.now(),
      };
      session.sources.push(source);
      this.pending.set(request.id, source);
      source.timer = setTimeout(() => this.end(source), this.opts.attachTimeoutMs);
      source.timer.unref();
    }
    for (const source of [...session.sources]) {
      // No watch open: the node cannot hear the request, so waiting for it would only delay the answer.
      if (!this.requests.emit(`request:${source.nodeId}`, source.request)) this.end(source);
    }
    return session;
  }

  /**
   * The node's socket for request `requestId`. Null when the request is unknown, ended, already attached or was sent
   * to another node: the route then closes the socket with 4404.
   */
  attach(node: NodeIdentity, requestId: string, socket: LogSocket): LogAttachment | null {
    const source = this.pending.get(requestId);
    if (source?.nodeId !== node.nodeId || source.state !== 'waiting') return null;
    clearTimeout(source.timer);
    source.state = 'attached';
    source.socket = socket;
    source.lastActivity = Date.now();
    return {
      receive: (frame) => this.receive(source, frame),
      end: () => this.end(source),
    };
  }

  private receive(source: Source, frame: string): void {
    if (source.state !== 'attached') return;
    source.lastActivity = Date.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame);
    } catch {
      parsed = undefined;
    }
    const line = schemas.logLine.safeParse(parsed);
    if (!line.success) {
      this.deps.logger.debug({ request: source.request.id }, 'ignoring a log frame that is not a log line');
      return;
    }
    // Without follow the node owes the tail and nothing more; a node sending more is not believed.
    if (!source.request.follow && source.received >= source.request.tail) return;
    source.received++;
    source.session.push({
      // The node answers for the instance it was asked about, whatever the frame says.
      instance_id: source.request.instance_id,
      stream: line.data.stream,
      line: capLine(line.data.line),
      at: line.data.at,
    });
  }

  private end(source: Source, close?: { code: number; reason: string }): void {
    if (source.state === 'ended') return;
    clearTimeout(source.timer);
    source.state = 'ended';
    this.pending.delete(source.request.id);
    if (close) source.socket?.close(close.code, close.reason);
    source.session.notify();
  }
}
