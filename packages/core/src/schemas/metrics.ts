import { z } from 'zod';

/**
 * Per-app metrics over time. The edges report traffic (`POST /v1/edge/metrics`, deltas since their last report), the
 * nodes report each instance's memory and CPU in their status reports, and the control plane keeps one sample per
 * app, minute and source for 48 hours (`GET /v1/apps/{app}/metrics`).
 */

/**
 * Upper bounds (inclusive, in ms) of the latency buckets an edge counts requests in; one more bucket takes the
 * slower ones. The edge's Prometheus histogram uses the same bounds, so both tell the same story.
 */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000] as const;

/** One app's traffic through one edge since that edge's last accepted report. */
export const edgeAppMetrics = z.strictObject({
  /** The app's name (names are unique across the platform: they are hostnames). */
  app: z.string().min(1).max(128),
  requests: z.number().int().min(0),
  /** Responses with a 5xx status. */
  errors: z.number().int().min(0),
  /** Sum of the requests' durations, in ms. */
  duration_ms_sum: z.number().min(0),
  /** Requests per latency bucket: one count per bound of LATENCY_BUCKETS_MS, then the count above the last bound. */
  buckets: z.array(z.number().int().min(0)).length(LATENCY_BUCKETS_MS.length + 1, {
    message: `expected ${LATENCY_BUCKETS_MS.length + 1} counts, one per latency bucket and one above the last`,
  }),
});
export type EdgeAppMetrics = z.infer<typeof edgeAppMetrics>;

export const edgeMetricsReport = z.strictObject({
  apps: z.array(edgeAppMetrics).max(10_000),
});
export type EdgeMetricsReport = z.infer<typeof edgeMetricsReport>;

/** The windows `GET /v1/apps/{app}/metrics` answers, each with its step (1 h: 1 min, 6 h: 5 min, 24 h: 15 min). */
export const metricsWindow = z.enum(['1h', '6h', '24h']);
export type MetricsWindow = z.infer<typeof metricsWindow>;

export const appMetricsQuery = z.strictObject({
  window: metricsWindow.default('1h').describe('how far back: 1h (1 min steps), 6h (5 min) or 24h (15 min)'),
});

/** One step of an app's metrics; a gauge is null where nothing was reported in the step. */
export const appMetricsPoint = z.object({
  /** Start of the step, ISO 8601. */
  at: z.string(),
  /** Requests the edges served in the step (0 when none reported traffic). */
  requests: z.number().int(),
  /** Of those, responses with a 5xx status. */
  errors: z.number().int(),
  /** Median and 95th percentile latency in ms, estimated from the latency buckets; null without requests. */
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  /** Memory of the app's instances, summed over them (averaged over the step's minutes); null without reports. */
  memory_bytes: z.number().nullable(),
  /** CPU of the app's instances in milli-CPU, summed the same way; null without reports. */
  cpu_milli: z.number().nullable(),
});
export type AppMetricsPoint = z.infer<typeof appMetricsPoint>;

export const appMetrics = z.object({
  app_id: z.string(),
  window: metricsWindow,
  step_seconds: z.number().int(),
  /** Oldest first; the last step is the current one, still filling. */
  points: z.array(appMetricsPoint),
});
export type AppMetrics = z.infer<typeof appMetrics>;
