import cluster, { type Worker } from 'node:cluster';
import type { Server as NetServer } from 'node:net';
import type { ListenHandle } from './listen-socket.js';
import { isWorkerMessage, type PrimaryMessage, type SocketName, type WorkerMessage } from './messages.js';

/** What the serving worker reported once ready. */
export type WorkerReady = Omit<Extract<WorkerMessage, { swgEdge: 'ready' }>, 'swgEdge'> & { pid: number };

export interface EdgePrimaryOptions {
  /** The sockets every worker listens on; they stay bound here for the edge's whole life. */
  sockets: { http: ListenHandle } & Partial<Record<SocketName, ListenHandle>>;
  /** A draining worker still running after this long is killed. */
  killAfterMs: number;
  /** A new worker not ready after this long is killed (the old one keeps serving). Default 60 s. */
  readyTimeoutMs?: number;
  /** One line per event worth an operator's eye. */
  note(line: string): void;
}

export interface EdgePrimary {
  /** Resolves when the first worker serves; rejects when it exits before that (the edge cannot start). */
  readonly started: Promise<WorkerReady>;
  /** Starts a new worker from the code on disk; once it serves, the old one drains and exits. */
  reload(): void;
  /** Drains every worker, then closes the sockets. */
  stop(): Promise<void>;
  /** The worker serving now. */
  workerPid(): number | undefined;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** A worker that served this long was healthy: a replacement after it dies starts at once. */
const STABLE_MS = 10_000;

/**
 * The edge's cluster primary: owns the listening sockets, runs the edge in one worker and swaps workers without
 * closing them.
 *
 *   fork ──sockets──> starting ──ready──> serving ──(reload: next one ready)──> draining ──> exited
 *                        │                   │
 *                        └─exit: old keeps   └─exit (crash): fork a replacement; clients wait in the backlog
 *                          serving
 *
 * Workers run the same script as this process (`process.argv[1]`, the `shellwego` bundle), read from disk at each
 * fork: replacing the file and sending SIGHUP upgrades the edge. Each worker asks for the sockets once its message
 * listener is in place and receives them as handles over cluster's IPC channel; it listens on them itself.
 *
 * cluster.schedulingPolicy is SCHED_NONE: the workers listen on our handles directly and accept their own
 * connections. With SCHED_RR (Linux's default) the primary would accept every connection of a socket shared
 * through cluster and pass it to a worker over IPC — an extra hop and this process on the hot path, for no
 * balancing since one worker serves. The TLS and HTTP/2 servers need nothing special either way: they are
 * net.Servers created in the worker, and only the TCP listener is shared.
 */
export function startEdgePrimary(options: EdgePrimaryOptions): EdgePrimary {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const sockets = Object.entries(options.sockets) as [SocketName, ListenHandle][];
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({});

  let current: Worker | undefined;
  let next: Worker | undefined;
  const draining = new Map<Worker, NodeJS.Timeout>();
  let hasStarted = false;
  let isStopping = false;
  let reloadAgain = false;
  let backoffMs = MIN_BACKOFF_MS;
  let respawnTimer: NodeJS.Timeout | undefined;
  let allGone: (() => void) | undefined;
  let resolveStarted: (ready: WorkerReady) => void = () => undefined;
  let rejectStarted: (error: Error) => void = () => undefined;
  const started = new Promise<WorkerReady>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  started.catch(() => undefined);

  const pidOf = (worker: Worker): number => worker.process.pid ?? -1;
  const liveWorkers = (): Worker[] =>
    [current, next, ...draining.keys()].filter((w): w is Worker => w !== undefined);

  const drain = (worker: Worker): void => {
    if (draining.has(worker)) return;
    worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      options.note(`edge worker ${pidOf(worker)} still draining after ${options.killAfterMs} ms: killed`);
      worker.process.kill('SIGKILL');
    }, options.killAfterMs);
    draining.set(worker, timer);
  };

  const sendSockets = (worker: Worker): void => {
    if (isStopping) return; // the sockets are closed; the worker was told to stop
    for (const [name, handle] of sockets) {
      const message: PrimaryMessage = { swgEdge: 'socket', name, total: sockets.length };
      // Cast: child_process sends Node's raw TCP handle as it is ('net.Native'), though @types/node only
      // declares net.Server/net.Socket handles. A worker that died meanwhile makes this fail: its exit is handled.
      worker.send(message, handle as unknown as NetServer, () => undefined);
    }
  };

  const onReady = (worker: Worker, ready: WorkerReady): void => {
    if (worker !== next) return;
    next = undefined;
    const old = current;
    current = worker;
    backoffMs = MIN_BACKOFF_MS;
    if (!hasStarted) {
      hasStarted = true;
      resolveStarted(ready);
    } else if (old !== undefined) {
      options.note(`edge worker ${ready.pid} serving; worker ${pidOf(old)} draining`);
    } else {
      options.note(`edge worker ${ready.pid} serving`);
    }
    if (old !== undefined) drain(old);
    if (isStopping) drain(worker);
    else if (reloadAgain) {
      reloadAgain = false;
      reload();
    }
  };

  const onExit = (worker: Worker, how: string, forkedAt: number): void => {
    const timer = draining.get(worker);
    const wasDraining = timer !== undefined;
    if (wasDraining) {
      clearTimeout(timer);
      draining.delete(worker);
    }
    const wasNext = worker === next;
    const wasCurrent = worker === current;
    if (wasNext) next = undefined;
    if (wasCurrent) current = undefined;
    if (isStopping) {
      if (liveWorkers().length === 0) allGone?.();
      return;
    }
    if (wasDraining) return;
    if (wasNext && !hasStarted) {
      rejectStarted(new Error(`the edge worker exited before it served (${how})`));
    } else if (wasNext && current !== undefined) {
      options.note(
        `the new edge worker ${pidOf(worker)} exited before it served (${how}); worker ${pidOf(current)} keeps serving`,
      );
    } else if (wasNext || wasCurrent) {
      respawn(forkedAt, how);
    }
  };

  /** A replacement for a worker that died; at once after a stable run, with a growing delay in a crash loop. */
  const respawn = (forkedAt: number, how: string): void => {
    if (next !== undefined) return; // a reload is already starting one
    const isStable = Date.now() - forkedAt > STABLE_MS;
    const delay = isStable ? 0 : backoffMs;
    backoffMs = isStable ? MIN_BACKOFF_MS : Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    options.note(`edge worker exited (${how}); starting a new one in ${(delay / 1000).toFixed(1)} s`);
    respawnTimer = setTimeout(() => {
      respawnTimer = undefined;
      if (!isStopping && next === undefined) next = fork();
    }, delay);
  };

  const fork = (): Worker => {
    const worker = cluster.fork();
    const forkedAt = Date.now();
    const readyTimer = setTimeout(() => {
      options.note(`edge worker ${pidOf(worker)} not serving after ${readyTimeoutMs} ms: killed`);
      worker.process.kill('SIGKILL');
    }, readyTimeoutMs);
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.swgEdge === 'sockets?') sendSockets(worker);
      else if (message.swgEdge === 'ready') {
        clearTimeout(readyTimer);
        const { httpPort, httpsPort, metricsPort } = message;
        onReady(worker, { pid: pidOf(worker), httpPort, httpsPort, metricsPort });
      }
    });
    worker.on('error', () => undefined); // IPC errors of a dying worker; its exit is what counts
    worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(readyTimer);
      onExit(worker, signal ?? `code ${code ?? '?'}`, forkedAt);
    });
    return worker;
  };

  const reload = (): void => {
    if (isStopping) return;
    if (next !== undefined) {
      reloadAgain = true; // the code on disk may have changed again since that fork
      return;
    }
    clearTimeout(respawnTimer);
    next = fork();
    options.note(`edge: starting worker ${pidOf(next)} from ${cluster.settings.exec ?? 'this script'}`);
  };

  next = fork();

  let stopping: Promise<void> | undefined;
  return {
    started,
    reload,
    workerPid: () => (current === undefined ? undefined : pidOf(current)),
    stop: () =>
      (stopping ??= (async () => {
        isStopping = true;
        clearTimeout(respawnTimer);
        // The workers hold their own copies: the sockets close (and refuse) once the last worker stops listening.
        for (const [, handle] of sockets) handle.close();
        const gone = new Promise<void>((resolve) => (allGone = resolve));
        const workers = liveWorkers();
        if (!hasStarted) rejectStarted(new Error('the edge stopped before it served'));
        for (const worker of workers) drain(worker);
        if (workers.length > 0) await gone;
      })()),
  };
}
