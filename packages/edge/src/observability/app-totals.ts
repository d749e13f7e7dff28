import { schemas } from '@shellwego/core';
import type { EdgeMetrics } from './metrics.js';
import { noApp } from './metrics.js';

/** One app's traffic through this edge since the worker started (the counters prom-client keeps). */
export interface AppTotals {
  requests: number;
  /** Responses with a 5xx status. */
  errors: number;
  durationMsSum: number;
  /** Requests per latency bucket (not cumulative): one per bound of LATENCY_BUCKETS_MS, then the slower ones. */
  buckets: number[];
}

const BOUNDS = schemas.LATENCY_BUCKETS_MS;

/**
 * Reads every app's totals from the edge's own Prometheus metrics, so the request path pays nothing more for the
 * control plane's per-app metrics: what the edge records for /metrics is what it reports. Requests that matched no
 * app are left out.
 */
export async function readAppTotals(
  metrics: Pick<EdgeMetrics, 'requests' | 'duration'>,
): Promise<Map<string, AppTotals>> {
  const totals = new Map<string, AppTotals>();
  const of = (app: string): AppTotals => {
    let t = totals.get(app);
    if (t === undefined) {
      t = { requests: 0, errors: 0, durationMsSum: 0, buckets: new Array<number>(BOUNDS.length + 1).fill(0) };
      totals.set(app, t);
    }
    return t;
  };
  const [requests, duration] = await Promise.all([metrics.requests.get(), metrics.duration.get()]);
  for (const v of requests.values) {
    const app = String(v.labels.app ?? noApp);
    if (app === noApp) continue;
    const t = of(app);
    t.requests += v.value;
    if (v.labels.status_class === '5xx') t.errors += v.value;
  }
  // prom-client's buckets are cumulative (`le`); the report counts each bucket on its own.
  const cumulative = new Map<string, number[]>();
  for (const v of duration.values) {
    const app = String(v.labels.app ?? noApp);
    if (app === noApp) continue;
    if (v.metricName?.endsWith('_sum')) {
      of(app).durationMsSum += v.value * 1000;
    } else if (v.metricName?.endsWith('_bucket')) {
      // Typed by the histogram's own label names; prom-client adds `le` to each bucket's labels.
      const le = (v.labels as { le?: string | number }).le;
      const index =
        le === '+Inf' ? BOUNDS.length : BOUNDS.findIndex((ms) => Math.abs(ms / 1000 - Number(le)) < 1e-9);
      if (index === -1) continue;
      let c = cumulative.get(app);
      if (c === undefined) {
        c = new Array<number>(BOUNDS.length + 1).fill(0);
        cumulative.set(app, c);
      }
      c[index] = v.value;
    }
  }
  for (const [app, c] of cumulative) {
    const t = of(app);
    t.buckets = c.map((n, i) => Math.max(0, n - (i === 0 ? 0 : c[i - 1]!)));
  }
  return totals;
}
