import type {} from './webassembly-types.js';
import { Worker } from 'node:worker_threads';
import type { RunJob, RunResult } from './worker.js';

export type RunOutcome =
  | { kind: 'done'; result: RunResult }
  /** Ran past its time limit; the worker was terminated. */
  | { kind: 'timeout' }
  /** Cancelled through the signal (the instance is stopping); the worker was terminated if it had started. */
  | { kind: 'aborted' }
  /** The worker died under the job (e.g. its JS heap ran out). */
  | { kind: 'crashed'; message: string };

export interface WorkerPoolOptions {
  /** How workers are started: `new Worker(script, { argv: [...args, '__wasm-worker'] })` (see wasmEntry). */
  script: string;
  args: readonly string[];
  max: number;
  /** Workers kept warm while idle, so the first request after a quiet spell doesn't pay for a thread start. */
  minIdle: number;
  idleTimeoutMs?: number;
}

interface Slot {
  worker: Worker;
  finish: ((o: RunOutcome) => void) | null;
  idleSince: number;
}

interface Waiter {
  resolve: (slot: Slot | null) => void;
}

/**
 * Worker threads that run module instances, shared by all instances of the host. Grows on demand up to `max`;
 * a worker whose job overruns is terminated (V8 stops the running wasm) and a fresh one replaces it when needed, so
 * one app's endless loop costs a thread for at most its time limit and never blocks the host's event loop.
 */
export class WorkerPool {
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: WorkerPoolOptions) {
    for (let i = 0; i < opts.minIdle; i++) this.idle.push(this.spawn());
    const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    this.sweeper = setInterval(() => this.shrink(idleTimeoutMs), Math.min(idleTimeoutMs, 10_000));
    this.sweeper.unref();
  }

  get size(): number {
    return this.slots.size;
  }

  /** Runs the job on a free worker, waiting for one when all `max` are busy. */
  async run(job: RunJob, timeoutMs: number, signal?: AbortSignal): Promise<RunOutcome> {
    const slot = await this.acquire(signal);
    if (slot === null) return { kind: 'aborted' };
    return new Promise<RunOutcome>((resolve) => {
      const onAbort = (): void => {
        this.discard(slot);
        finish({ kind: 'aborted' });
      };
      const timer = setTimeout(() => {
        this.discard(slot);
        finish({ kind: 'timeout' });
      }, timeoutMs);
      const finish = (o: RunOutcome): void => {
        if (slot.finish === null) return;
        slot.finish = null;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(o);
      };
      slot.finish = finish;
      signal?.addEventListener('abort', onAbort, { once: true });
      slot.worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const w of this.waiters.splice(0)) w.resolve(null);
    const all = [...this.slots];
    this.slots.clear();
    this.idle.length = 0;
    await Promise.all(all.map((s) => s.worker.terminate().catch(() => undefined)));
  }

  private acquire(signal?: AbortSignal): Promise<Slot | null> {
    if (this.closed || signal?.aborted === true) return Promise.resolve(null);
    const ready = this.idle.pop();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.slots.size < this.opts.max) return Promise.resolve(this.spawn());
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        resolve(null);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private release(slot: Slot): void {
    if (!this.slots.has(slot)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) return waiter.resolve(slot);
    slot.idleSince = Date.now();
    this.idle.push(slot);
  }

  private spawn(): Slot {
    const worker = new Worker(this.opts.script, {
      argv: [...this.opts.args, '__wasm-worker'],
      // Wasm memories are not on the JS heap (they are capped by the module rewrite); this bounds the glue.
      resourceLimits: { maxOldGenerationSizeMb: 128 },
    });
    const slot: Slot = { worker, finish: null, idleSince: Date.now() };
    this.slots.add(slot);
    worker.on('message', (msg: RunResult | 'ready') => {
      if (msg === 'ready') return;
      const finish = slot.finish;
      if (finish === null) return;
      finish({ kind: 'done', result: msg });
      this.release(slot);
    });
    const died = (message: string): void => {
      if (!this.slots.has(slot)) return;
      this.remove(slot);
      slot.finish?.({ kind: 'crashed', message });
      this.replaceForWaiters();
    };
    worker.on('error', (e: Error) => died(`worker thread failed: ${e.message}`));
    worker.on('exit', (code) => died(`worker thread exited with code ${code}`));
    return slot;
  }

  private remove(slot: Slot): void {
    this.slots.delete(slot);
    const i = this.idle.indexOf(slot);
    if (i !== -1) this.idle.splice(i, 1);
  }

  /** Terminates a busy worker (overrun or cancelled job); a waiting job gets a fresh worker in its place. */
  private discard(slot: Slot): void {
    this.remove(slot);
    void slot.worker.terminate().catch(() => undefined);
    this.replaceForWaiters();
  }

  private replaceForWaiters(): void {
    if (this.closed) return;
    while (this.waiters.length > 0 && this.slots.size < this.opts.max)
      this.waiters.shift()?.resolve(this.spawn());
    if (this.idle.length < this.opts.minIdle && this.slots.size < this.opts.max) this.idle.push(this.spawn());
  }

  private shrink(idleTimeoutMs: number): void {
    const cutoff = Date.now() - idleTimeoutMs;
    while (this.idle.length > this.opts.minIdle) {
      const oldest = this.idle[0];
      if (oldest === undefined || oldest.idleSince > cutoff) break;
      this.idle.shift();
      this.slots.delete(oldest);
      void oldest.worker.terminate().catch(() => undefined);
    }
  }
}
