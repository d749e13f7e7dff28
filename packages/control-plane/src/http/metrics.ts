import { createRequire } from 'node:module';
import type {
  Counter as CounterType,
  Gauge as GaugeType,
  Histogram as HistogramType,
  Registry as RegistryType,
} from 'prom-client';

// Deep requires of prom-client's metric classes: its index also loads the pushgateway (https) and
// the default metrics (@opentelemetry/api), about 12 MiB of an idle control plane's 40-odd MiB over
// an empty Node process. The few process metrics we want are below.
const require = createRequire(import.meta.url);
const Registry = require('prom-client/lib/registry.js') as typeof RegistryType;
const Counter = require('prom-client/lib/counter.js') as typeof CounterType;
const Histogram = require('prom-client/lib/histogram.js') as typeof HistogramType;
const Gauge = require('prom-client/lib/gauge.js') as typeof GaugeType;

export interface HttpMetrics {
  registry: RegistryType;
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createHttpMetrics(prefix = 'shellwego_'): HttpMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: `${prefix}http_requests_total`,
    help: 'API requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'API request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'nodejs_heap_used_bytes',
    help: 'V8 heap in use, in bytes',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent, in seconds',
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.set((user + system) / 1e6);
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch, in seconds',
    registers: [registry],
  }).set(Math.round(Date.now() / 1000 - process.uptime()));
  return {
    registry,
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ method, route }, seconds);
    },
  };
}
