import type { Logger } from 'pino';
import { Limiter } from '@shellwego/core';
import type { RouteStore } from '../routes/route-store.js';

export interface ActiveCheckerOptions {
  store: RouteStore;
  logger: Logger;
  /** Time between rounds. */
  intervalMs: number;
  /** How long one check may take before the upstream counts as down. */
  timeoutMs: number;
  /**
   * Checks in flight at once (default 32). A node of 500 small apps would otherwise get 500 requests in the same
   * instant every round, each one a fork in a forking server: a CPU storm in which the checks themselves time out.
   */
  concurrency?: number;
}

/**
 * Every `intervalMs`, GETs each upstream's route `health_path` (with the route's hostname as Host) and marks it up
 * on 2xx/3xx, down otherwise. Complements the passive marks: it finds an upstream that accepts connections but
 * answers errors, and brings one back as soon as it answers again.
 */
export class ActiveChecker {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private readonly limiter: Limiter;

  constructor(private readonly options: ActiveCheckerOptions) {
    this.limiter = new Limiter(options.concurrency ?? 32);
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.round ??= this.runOnce().finally(() => (this.round = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** One round over every upstream of the current table; resolves when all checks finished. */
  async runOnce(): Promise<void> {
    const { logger, timeoutMs } = this.options;
    await Promise.all(
      this.options.store.upstreamsWithRoute().map(({ upstream, route }) =>
        this.limiter.run(async () => {
          let isHealthy: boolean;
          let detail: string;
          try {
            const response = await upstream.pool.request({
              method: 'GET',
              path: route.healthPath.startsWith('/') ? route.healthPath : `/${route.healthPath}`,
              headers: { host: route.hostname, 'user-agent': 'shellwego-edge-health' },
              headersTimeout: timeoutMs,
              bodyTimeout: timeoutMs,
              signal: AbortSignal.timeout(timeoutMs),
            });
            await response.body.dump();
            isHealthy = response.statusCode >= 200 && response.statusCode < 400;
            detail = `status ${response.statusCode}`;
          } catch (error) {
            isHealthy = false;
            detail = error instanceof Error ? error.message : String(error);
          }
          if (upstream.isRetired) return;
          if (upstream.setActiveHealth(isHealthy)) {
            const log = { upstream: upstream.address, app: route.appName, detail };
            if (isHealthy) logger.info(log, 'upstream passed its health check');
            else logger.warn(log, 'upstream failed its health check');
          }
        }),
      ),
    );
  }
}
