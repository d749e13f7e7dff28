import type { InstanceStats } from '@shellwego/driver-sdk';
import { Limiter } from '@shellwego/core';
import type { AgentLogger } from '../daemon/logger.js';
import { cpuMilli } from './cpu-milli.js';

/** The latest sample of one running instance. */
export interface InstanceUsage {
  instanceId: string;
  /** The app it belongs to, for metric labels; '' when unknown. */
  appId: string;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  /** The driver's cumulative counter (cgroup cpuacct, VMM thread time, …). */
  cpuUsageNs: number;
  /** Over the time since the previous sample; undefined after the first one (or a counter reset). */
  cpuMilli: number | undefined;
  /** performance.now() of the sample. */
  atMs: number;
}

export interface StatsSamplerOptions {
  /** The driver's stats of a recorded instance (the agent resolves its handle and driver). */
  statsOf: (instanceId: string) => Promise<InstanceStats>;
  /**
   * An instance is sampled again only once its last sample is this old, so reports sent between passes (health
   * changes, pulls) reuse the sample rather than measure CPU over a few milliseconds.
   */
  minIntervalMs: number;
  /** Stats calls at once; default 4. */
  concurrency?: number;
  /** A stats call slower than this counts as failed for this round; default 2000 ms. */
  timeoutMs?: number;
  /** Monotonic milliseconds; default performance.now(). Injectable for tests. */
  now?: () => number;
  logger?: AgentLogger;
}

/**
 * Samples CPU and memory of the running instances through their drivers and keeps the latest sample of each. The
 * agent calls refresh() with the instances that run, before each status report; those no longer running are
 * forgotten. A failing or slow stats call drops that instance's sample (its report then carries no usage) and
 * never fails the round.
 */
export class StatsSampler {
  private readonly latest = new Map<string, InstanceUsage>();
  private readonly failing = new Set<string>();
  private readonly limiter: Limiter;
  private readonly now: () => number;
  private round: Promise<void> | undefined;

  constructor(private readonly opts: StatsSamplerOptions) {
    this.limiter = new Limiter(opts.concurrency ?? 4);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Samples those of `running` (instance id → app id) that are due, and forgets every other instance. */
  async refresh(running: ReadonlyMap<string, string>): Promise<void> {
    for (const id of this.latest.keys()) if (!running.has(id)) this.latest.delete(id);
    for (const id of this.failing) if (!running.has(id)) this.failing.delete(id);
    const due = [...running].filter(([id]) => {
      const last = this.latest.get(id);
      return last === undefined || this.now() - last.atMs >= this.opts.minIntervalMs;
    });
    await Promise.all(due.map(([id, appId]) => this.limiter.run(() => this.sampleOne(id, appId))));
    // An instance that stopped while its stats call was under way must not come back.
    for (const id of this.latest.keys()) if (!running.has(id)) this.latest.delete(id);
  }

  /**
   * Starts a refresh unless one is under way, and does not wait for it: a status report on a node of 1,000 instances
   * must not wait for 1,000 stats calls (a busy node's new instance would show as running only seconds later). The
   * report then carries the latest samples, at most one round old. Resolves when that round is over.
   */
  refreshSoon(running: ReadonlyMap<string, string>): Promise<void> {
    this.round ??= this.refresh(running).finally(() => (this.round = undefined));
    return this.round;
  }

  usage(instanceId: string): InstanceUsage | undefined {
    return this.latest.get(instanceId);
  }

  all(): InstanceUsage[] {
    return [...this.latest.values()];
  }

  private async sampleOne(instanceId: string, appId: string): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const stats = await Promise.race([
        this.opts.statsOf(instanceId),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${String(timeoutMs)} ms`)), timeoutMs);
        }),
      ]);
      const atMs = this.now();
      const prev = this.latest.get(instanceId);
      this.latest.set(instanceId, {
        instanceId,
        appId,
        memoryBytes: stats.memoryBytes,
        memoryLimitBytes: stats.memoryLimitBytes,
        cpuUsageNs: stats.cpuUsageNs,
        cpuMilli: prev === undefined ? undefined : cpuMilli(prev, { cpuUsageNs: stats.cpuUsageNs, atMs }),
        atMs,
      });
      this.failing.delete(instanceId);
    } catch (err) {
      this.latest.delete(instanceId);
      // Once per failing streak: a stats call that fails every pass would otherwise flood the log.
      if (!this.failing.has(instanceId))
        this.opts.logger?.warn(
          { instance: instanceId, err: err instanceof Error ? err.message : String(err) },
          'instance stats failed; reporting it without usage',
        );
      this.failing.add(instanceId);
    } finally {
      clearTimeout(timer);
    }
  }
}
