import type { Clock } from './clock.js';

export interface BackoffOptions {
  /** Wait after the first failure; doubles with every further one. Default 1 s. */
  initialMs: number;
  /** Ceiling of the wait. Default 60 s. */
  maxMs: number;
  /** An instance that has run this long counts as recovered and its failures are forgotten. Default 60 s. */
  stableAfterMs: number;
}

export interface CrashLoopOptions {
  /** This many starts within `windowMs`... Default 5. */
  starts: number;
  /** ...mark the instance `crash-loop`. Default 5 min. */
  windowMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, stableAfterMs: 60_000 };
export const defaultCrashLoop: CrashLoopOptions = { starts: 5, windowMs: 5 * 60_000 };

/** What the executor knows about an instance's recent trouble, for the status it reports. */
export interface RestartCondition {
  failures: number;
  /** No start before this time (ms since epoch); 0 when no backoff applies. */
  retryAt: number;
  crashLoop: boolean;
}

interface Entry {
  failures: number;
  retryAt: number;
  starts: number[];
  /** Each start is one generation; a failure is counted once per generation, however often a plan repeats it. */
  generation: number;
  failedGeneration: number;
  lastStartAt: number;
}

/** Exponential backoff and crash-loop detection per instance; no timers, only the clock. */
export class RestartTracker {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly backoff: BackoffOptions = defaultBackoff,
    private readonly crashLoop: CrashLoopOptions = defaultCrashLoop,
  ) {}

  /** The wait after `failures` failures in a row: initial, doubling, capped. */
  delayAfter(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(failures - 1, 30));
  }

  /** The current start failed (it exited, or never started); counted once per start. */
  recordFailure(instanceId: string): void {
    const e = this.entry(instanceId);
    if (e.failedGeneration === e.generation) return;
    e.failedGeneration = e.generation;
    e.failures++;
    e.retryAt = this.clock.now() + this.delayAfter(e.failures);
  }

  /** May an instance be started now, or must it wait out its backoff? */
  mayStart(instanceId: string): boolean {
    return this.clock.now() >= (this.entries.get(instanceId)?.retryAt ?? 0);
  }

  recordStart(instanceId: string): void {
    const e = this.entry(instanceId);
    const now = this.clock.now();
    e.generation++;
    e.lastStartAt = now;
    e.starts = [...e.starts.filter((t) => now - t < this.crashLoop.windowMs), now];
  }

  /** Seen running: once it has stayed up long enough, its past failures no longer slow the next restart. */
  recordRunning(instanceId: string): void {
    const e = this.entries.get(instanceId);
    if (e !== undefined && e.failures > 0 && this.clock.now() - e.lastStartAt >= this.backoff.stableAfterMs) {
      e.failures = 0;
      e.retryAt = 0;
    }
  }

  /** A stopped or re-specified instance starts with a clean slate. */
  forget(instanceId: string): void {
    this.entries.delete(instanceId);
  }

  condition(instanceId: string): RestartCondition {
    const e = this.entries.get(instanceId);
    if (e === undefined) return { failures: 0, retryAt: 0, crashLoop: false };
    const now = this.clock.now();
    const recent = e.starts.filter((t) => now - t < this.crashLoop.windowMs).length;
    return {
      failures: e.failures,
      retryAt: e.retryAt,
      crashLoop: e.failures > 0 && recent >= this.crashLoop.starts,
    };
  }

  private entry(instanceId: string): Entry {
    let e = this.entries.get(instanceId);
    if (e === undefined) {
      e = { failures: 0, retryAt: 0, starts: [], generation: 0, failedGeneration: -1, lastStartAt: 0 };
      this.entries.set(instanceId, e);
    }
    return e;
  }
}
