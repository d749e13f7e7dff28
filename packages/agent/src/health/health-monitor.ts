import { EventEmitter } from 'node:events';
import { probeOf, type HealthCheckSpec } from './health-check.js';
import type { Probe, ProbeResult } from './probes.js';

export type HealthStatus = 'unknown' | 'healthy' | 'unhealthy';

export interface HealthChange {
  instanceId: string;
  status: HealthStatus;
  previous: HealthStatus;
  /** The probe result that tipped the balance. */
  detail: string;
}

interface Events {
  change: [HealthChange];
}

/** While an instance has never been healthy, it is checked this often (at most), so a deploy waits for its boot,
 * not for the next tick of a 10 s interval (Docker's start interval). */
export const START_PROBE_MS = 100;
/** The first checks after a start come sooner still, doubling up to START_PROBE_MS: most apps listen within
 * milliseconds of their start, and a refused connection costs next to nothing. */
export const FIRST_PROBE_MS = 10;
/** ...for at most this long; an instance that never comes up is then checked at its normal interval. */
export const START_PERIOD_MS = 60_000;

/**
 * Checks one instance from the host, every `intervalMs` (more often until its first success), and emits `change`
 * only when the status flips: after `healthyThreshold` successes or `unhealthyThreshold` failures in a row, so one
 * slow answer doesn't flap it.
 */
export class HealthMonitor extends EventEmitter<Events> {
  private current: HealthStatus = 'unknown';
  private successes = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastDetail = '';
  private everHealthy = false;
  private startedAt = 0;
  private checksSinceStart = 0;
  private readonly probe: Probe;

  constructor(
    readonly instanceId: string,
    private readonly host: string,
    private readonly spec: HealthCheckSpec,
  ) {
    super();
    this.probe = probeOf(spec);
  }

  get status(): HealthStatus {
    return this.current;
  }

  get detail(): string {
    return this.lastDetail;
  }

  /** Starts checking at once, then every interval; checks never overlap, as the next waits for the previous. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.checksSinceStart = 0;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One check and its effect on the status; what start() runs on every tick. */
  async checkOnce(): Promise<ProbeResult> {
    this.checksSinceStart++;
    const result = await this.probe.run(this.host, this.spec.timeoutMs);
    this.record(result);
    return result;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      void this.checkOnce().finally(() => {
        if (this.running) this.schedule(this.nextDelay());
      });
    }, ms);
  }

  private nextDelay(): number {
    const starting = !this.everHealthy && Date.now() - this.startedAt < START_PERIOD_MS;
    if (!starting) return this.spec.intervalMs;
    const ramp = FIRST_PROBE_MS * 2 ** Math.max(0, this.checksSinceStart - 1);
    return Math.min(this.spec.intervalMs, START_PROBE_MS, ramp);
  }

  private record(result: ProbeResult): void {
    this.lastDetail = result.detail;
    if (result.ok) {
      this.successes++;
      this.failures = 0;
      if (this.successes >= this.spec.healthyThreshold) this.flip('healthy', result.detail);
    } else {
      this.failures++;
      this.successes = 0;
      if (this.failures >= this.spec.unhealthyThreshold) this.flip('unhealthy', result.detail);
    }
  }

  private flip(status: HealthStatus, detail: string): void {
    if (status === this.current) return;
    const previous = this.current;
    this.current = status;
    if (status === 'healthy') this.everHealthy = true;
    this.emit('change', { instanceId: this.instanceId, status, previous, detail });
  }
}
