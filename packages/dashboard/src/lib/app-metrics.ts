// Turns the API's per-app metrics into chart series and totals; pure, so unit tests run it in Node.
import type { AppMetrics } from '@shellwego/api-client';

export type Point = readonly [number, number];

export interface MetricSeries {
  requestsPerMinute: Point[];
  errorsPerMinute: Point[];
  p50: Point[];
  p95: Point[];
  memoryMiB: Point[];
  cpuMilli: Point[];
}

/** One point per step: rates per minute whatever the step, gauges only where something was reported. */
export function metricSeries(m: AppMetrics): MetricSeries {
  const perMinute = m.step_seconds / 60;
  const out: MetricSeries = {
    requestsPerMinute: [],
    errorsPerMinute: [],
    p50: [],
    p95: [],
    memoryMiB: [],
    cpuMilli: [],
  };
  for (const p of m.points) {
    const x = Date.parse(p.at);
    out.requestsPerMinute.push([x, p.requests / perMinute]);
    out.errorsPerMinute.push([x, p.errors / perMinute]);
    if (p.latency_p50_ms !== null) out.p50.push([x, p.latency_p50_ms]);
    if (p.latency_p95_ms !== null) out.p95.push([x, p.latency_p95_ms]);
    if (p.memory_bytes !== null) out.memoryMiB.push([x, p.memory_bytes / 2 ** 20]);
    if (p.cpu_milli !== null) out.cpuMilli.push([x, p.cpu_milli]);
  }
  return out;
}

export interface MetricTotals {
  requests: number;
  errors: number;
  /** Share of 5xx in percent; null without requests. */
  errorRate: number | null;
}

export function metricTotals(m: AppMetrics): MetricTotals {
  const requests = m.points.reduce((n, p) => n + p.requests, 0);
  const errors = m.points.reduce((n, p) => n + p.errors, 0);
  return { requests, errors, errorRate: requests === 0 ? null : (errors / requests) * 100 };
}
