import { describe, expect, it } from 'vitest';
import type { AppMetrics } from '@shellwego/api-client';
import { metricSeries, metricTotals } from './app-metrics.js';

const point = (at: string, over: Partial<AppMetrics['points'][number]> = {}) => ({
  at,
  requests: 0,
  errors: 0,
  latency_p50_ms: null,
  latency_p95_ms: null,
  memory_bytes: null,
  cpu_milli: null,
  ...over,
});

describe('app metrics for the charts', () => {
  const sixHours: AppMetrics = {
    app_id: 'app_1',
    window: '6h',
    step_seconds: 300,
    points: [
      point('2026-01-01T10:00:00.000Z'),
      point('2026-01-01T10:05:00.000Z', {
        requests: 50,
        errors: 5,
        latency_p50_ms: 12,
        latency_p95_ms: 80,
        memory_bytes: 64 * 2 ** 20,
        cpu_milli: 120,
      }),
    ],
  };

  it('charts rates per minute whatever the step, and gauges only where they were reported', () => {
    const s = metricSeries(sixHours);
    const t = Date.parse('2026-01-01T10:05:00.000Z');
    expect(s.requestsPerMinute).toEqual([
      [t - 300_000, 0],
      [t, 10],
    ]);
    expect(s.errorsPerMinute.at(-1)).toEqual([t, 1]);
    expect(s.p50).toEqual([[t, 12]]);
    expect(s.p95).toEqual([[t, 80]]);
    expect(s.memoryMiB).toEqual([[t, 64]]);
    expect(s.cpuMilli).toEqual([[t, 120]]);
  });

  it('adds up the window, with the 5xx share', () => {
    expect(metricTotals(sixHours)).toEqual({ requests: 50, errors: 5, errorRate: 10 });
    expect(metricTotals({ ...sixHours, points: [point('2026-01-01T10:00:00.000Z')] }).errorRate).toBeNull();
  });
});
