import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { schemas } from '@shellwego/core';
import { EdgeMetrics } from '../observability/metrics.js';
import { readAppTotals, type AppTotals } from '../observability/app-totals.js';

type EdgeAppMetrics = z.input<typeof schemas.edgeAppMetrics>;

export interface MetricsReporterOptions {
  /** The control plane's base URL, as for the link. */
  url: string;
  /** The link's platform admin token. */
  token: string;
  /** The edge's registry (EdgeServer.metricsRegistry): the reporter reads the per-app series recorded there. */
  registry: Registry;
  logger: Logger;
  /** How often to report; 10 s by default. */
  intervalMs?: number;
  /**
   * Traffic not accepted for this long is dropped rather than sent later: the control plane files a report under
   * the minute it arrives, so an old backlog would pile hours into one minute.
   */
  maxBacklogMs?: number;
}

export interface MetricsReporter {
  /** Sends what is new now; resolves false when the control plane did not take it (it is kept for the next try). */
  flush(): Promise<boolean>;
  /** Stops the timer after one last report, so a draining worker hands over what it counted. */
  close(): Promise<void>;
}

/** The last report of a stopping worker gets this long. */
const CLOSE_WAIT_MS = 3000;

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Reports the edge's traffic per app to the control plane (`POST /v1/edge/metrics`) every `intervalMs`: requests,
 * 5xx and latency buckets since the last report the control plane accepted. The reporter keeps only the totals it
 * last had accepted and sends the difference to what the edge counts now, so a failed report is simply included
 * in the next one and nothing grows while the control plane is away. A new worker starts from zero, as its
 * counters do.
 */
export function reportMetrics(opts: MetricsReporterOptions): MetricsReporter {
  const intervalMs = opts.intervalMs ?? 10_000;
  const maxBacklogMs = opts.maxBacklogMs ?? 5 * 60_000;
  const metrics = new EdgeMetrics(opts.registry);
  const endpoint = new URL('/v1/edge/metrics', opts.url);
  let accepted = new Map<string, AppTotals>();
  let acceptedAt = Date.now();
  let failing = false;
  let inFlight: Promise<boolean> | undefined;

  const send = async (): Promise<boolean> => {
    const now = await readAppTotals(metrics);
    const apps: EdgeAppMetrics[] = [];
    for (const [app, t] of now) {
      const d = difference(t, accepted.get(app));
      if (d.requests > 0) apps.push({ app, ...d });
    }
    if (apps.length === 0) {
      accepted = now;
      acceptedAt = Date.now();
      return true;
    }
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ apps }),
        signal: AbortSignal.timeout(Math.max(1000, Math.min(intervalMs, 10_000))),
      });
      if (!res.ok) throw new Error(`POST /v1/edge/metrics answered ${res.status}`);
      await res.body?.cancel();
      accepted = now;
      acceptedAt = Date.now();
      if (failing) opts.logger.info('metrics reports accepted again');
      failing = false;
      return true;
    } catch (e) {
      if (!failing)
        opts.logger.warn({ err: errText(e) }, 'could not report metrics; keeping them for the next try');
      failing = true;
      if (Date.now() - acceptedAt > maxBacklogMs) {
        opts.logger.warn({ apps: apps.length }, 'dropping metrics the control plane did not take in time');
        accepted = now;
        acceptedAt = Date.now();
      }
      return false;
    }
  };

  // One report at a time: a slow control plane delays the next one rather than stacking them.
  const flush = (): Promise<boolean> => {
    inFlight ??= send().finally(() => (inFlight = undefined));
    return inFlight;
  };
  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();

  return {
    flush,
    close: async () => {
      clearInterval(timer);
      // Bounded: a control plane that is away must not hold a stopping worker past its kill deadline.
      const last = (async () => {
        await inFlight;
        await flush();
      })();
      await Promise.race([last, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    },
  };
}

/** What happened between two readings; a series that went down was reset, so all of it is new. */
function difference(now: AppTotals, before: AppTotals | undefined): Omit<EdgeAppMetrics, 'app'> {
  if (before === undefined || now.requests < before.requests) {
    return {
      requests: now.requests,
      errors: now.errors,
      duration_ms_sum: now.durationMsSum,
      buckets: now.buckets,
    };
  }
  return {
    requests: now.requests - before.requests,
    errors: Math.max(0, now.errors - before.errors),
    duration_ms_sum: Math.max(0, now.durationMsSum - before.durationMsSum),
    buckets: now.buckets.map((n, i) => Math.max(0, n - (before.buckets[i] ?? 0))),
  };
}
