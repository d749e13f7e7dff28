import { EventEmitter } from 'node:events';
import { defaultTimings } from './health-check.js';
import { HealthMonitor, type HealthChange, type HealthStatus } from './health-monitor.js';

/** One running instance to check: its app's health check against its address. */
export interface HealthTarget {
  instanceId: string;
  ip: string;
  port: number;
  path: string;
  intervalMs: number;
  timeoutMs: number;
}

interface Events {
  change: [HealthChange];
}

/** Checks closer than this would load the node more than they tell; the control plane may send less. */
const MIN_INTERVAL_MS = 100;

/**
 * A HealthMonitor per running instance. The agent calls sync() with what runs after every pass; `change` re-emits
 * each monitor's flips so the agent can report them at once.
 */
export class HealthBoard extends EventEmitter<Events> {
  private readonly monitors = new Map<string, { key: string; monitor: HealthMonitor }>();

  /** Checks exactly `targets`: starts new ones, restarts those whose check or address changed, stops the rest. */
  sync(targets: readonly HealthTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.instanceId, t]));
    for (const [id, m] of this.monitors) {
      const t = wanted.get(id);
      if (t === undefined || keyOf(t) !== m.key) this.drop(id);
    }
    for (const t of targets) if (!this.monitors.has(t.instanceId)) this.add(t);
  }

  /**
   * Starts checking one instance now, as soon as it started, without waiting for the next sync (which keeps the
   * monitor as long as the target is the same): a deploy waits on this instance's first healthy answer.
   */
  watch(target: HealthTarget): void {
    const m = this.monitors.get(target.instanceId);
    if (m !== undefined && m.key === keyOf(target)) return;
    this.drop(target.instanceId);
    this.add(target);
  }

  /** The instance's health and the last check's outcome; undefined when it is not checked. */
  health(instanceId: string): { status: HealthStatus; detail: string } | undefined {
    const m = this.monitors.get(instanceId)?.monitor;
    return m === undefined ? undefined : { status: m.status, detail: m.detail };
  }

  stopAll(): void {
    for (const id of [...this.monitors.keys()]) this.drop(id);
  }

  private add(t: HealthTarget): void {
    const monitor = new HealthMonitor(t.instanceId, t.ip, {
      kind: 'http',
      port: t.port,
      path: t.path,
      intervalMs: Math.max(MIN_INTERVAL_MS, t.intervalMs),
      timeoutMs: Math.max(1, t.timeoutMs),
      healthyThreshold: defaultTimings.healthyThreshold,
      unhealthyThreshold: defaultTimings.unhealthyThreshold,
    });
    monitor.on('change', (c) => this.emit('change', c));
    this.monitors.set(t.instanceId, { key: keyOf(t), monitor });
    monitor.start();
  }

  private drop(instanceId: string): void {
    const m = this.monitors.get(instanceId);
    m?.monitor.stop();
    m?.monitor.removeAllListeners();
    this.monitors.delete(instanceId);
  }
}

function keyOf(t: HealthTarget): string {
  return JSON.stringify([t.ip, t.port, t.path, t.intervalMs, t.timeoutMs]);
}
