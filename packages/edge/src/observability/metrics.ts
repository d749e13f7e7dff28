import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { schemas } from '@shellwego/core';
import type { UpstreamErrorKind } from '../proxy/upstream-errors.js';

interface AppSeries {
  byStatusClass: Array<Counter.Internal | undefined>;
  duration: Histogram.Internal<'app'>;
}

/** Label for requests that matched no route, so unknown hosts do not create a series each. */
export const noApp = '-';

/** The edge's Prometheus metrics, registered on the registry the caller passes (reused if already there). */
export class EdgeMetrics {
  readonly requests: Counter<'app' | 'status_class'>;
  readonly duration: Histogram<'app'>;
  readonly upstreamErrors: Counter<'app' | 'kind'>;
  readonly activeConnections: Gauge;

  constructor(registry: Registry) {
    this.requests = reuse(
      registry,
      'shellwego_edge_requests_total',
      () =>
        new Counter({
          name: 'shellwego_edge_requests_total',
          help: 'Requests served by the edge, by app and status class (2xx, 4xx, …).',
          labelNames: ['app', 'status_class'],
          registers: [registry],
        }),
    );
    this.duration = reuse(
      registry,
      'shellwego_edge_request_duration_seconds',
      () =>
        new Histogram({
          name: 'shellwego_edge_request_duration_seconds',
          help: 'Time from request start to the end of the response, by app.',
          labelNames: ['app'],
          // The bounds the edge reports to the control plane in, so /metrics and the API tell the same story.
          buckets: schemas.LATENCY_BUCKETS_MS.map((ms) => ms / 1000),
          registers: [registry],
        }),
    );
    this.upstreamErrors = reuse(
      registry,
      'shellwego_edge_upstream_errors_total',
      () =>
        new Counter({
          name: 'shellwego_edge_upstream_errors_total',
          help: 'Failures reaching an upstream, by app and kind (connect, reset, timeout, other).',
          labelNames: ['app', 'kind'],
          registers: [registry],
        }),
    );
    this.activeConnections = reuse(
      registry,
      'shellwego_edge_active_connections',
      () =>
        new Gauge({
          name: 'shellwego_edge_active_connections',
          help: 'Client connections open on the edge.',
          registers: [registry],
        }),
    );
  }

  observeRequest(app: string, status: number, seconds: number): void {
    const series = this.seriesOf(app);
    const statusClass = Math.floor(status / 100);
    let counter = series.byStatusClass[statusClass];
    if (counter === undefined) {
      counter = this.requests.labels({ app, status_class: `${statusClass}xx` });
      series.byStatusClass[statusClass] = counter;
    }
    counter.inc();
    series.duration.observe(seconds);
  }

  // prom-client hashes the labels on every call; the children it returns for fixed labels skip that.
  private readonly series = new Map<string, AppSeries>();

  private seriesOf(app: string): AppSeries {
    let series = this.series.get(app);
    if (series === undefined) {
      series = { byStatusClass: [], duration: this.duration.labels({ app }) };
      this.series.set(app, series);
    }
    return series;
  }

  countUpstreamError(app: string, kind: UpstreamErrorKind): void {
    this.upstreamErrors.inc({ app, kind });
  }
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  // Two edges in one process (tests, a restart in place) share a registry: the second reuses the metric.
  // getSingleMetric is typed as the base Metric; the name is one of ours, so it is the class we registered.
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
