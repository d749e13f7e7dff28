import { useState } from 'react';
import type { MetricsWindow } from '@shellwego/api-client';
import { useSession } from '../context.js';
import { formatBytes } from '../lib/format.js';
import { useAsync, useInterval } from '../lib/hooks.js';
import { metricSeries, metricTotals } from '../lib/app-metrics.js';
import { LineChart } from '../components/chart.js';
import { ErrorNote, Field, Loading } from '../components/ui.js';
import type { AppPanelProps } from './app.js';

export interface Samples {
  running: (readonly [number, number])[];
  healthy: (readonly [number, number])[];
}

const windows: readonly (readonly [MetricsWindow, string])[] = [
  ['1h', 'Last hour'],
  ['6h', 'Last 6 hours'],
  ['24h', 'Last 24 hours'],
];

/** The edges and nodes report every ~10 s: refreshing faster would show nothing new. */
const REFRESH_MS = 10_000;

export function MetricsPanel({ app, deployments, samples }: AppPanelProps & { samples: Samples }) {
  const { client } = useSession();
  const [span, setSpan] = useState<MetricsWindow>('1h');
  const metrics = useAsync(() => client.apps.metrics(app.name, { window: span }), [client, app.name, span]);
  useInterval(metrics.reload, REFRESH_MS);

  const finished = (deployments ?? [])
    .filter((d) => d.finished_at !== null)
    .map((d) => [d.release, (Date.parse(d.finished_at ?? '') - Date.parse(d.created_at)) / 1000] as const)
    .filter(([, s]) => Number.isFinite(s))
    .reverse();
  const reserved = app.instances.filter((i) => i.state === 'running').length * app.resources.memory_bytes;
  const label = windows.find(([w]) => w === span)?.[1].toLowerCase() ?? span;
  const m = metrics.data;
  const series = m ? metricSeries(m) : undefined;
  const totals = m ? metricTotals(m) : undefined;
  // Every chart spans the whole window, so a gauge reported only lately is drawn where it was reported.
  const first = m?.points[0];
  const last = m?.points.at(-1);
  const domain = first && last ? ([Date.parse(first.at), Date.parse(last.at)] as const) : undefined;
  return (
    <>
      <div className="heading">
        <h2>Metrics</h2>
        <Field label="Window">
          {(id) => (
            <select id={id} value={span} onChange={(e) => setSpan(e.target.value as MetricsWindow)}>
              {windows.map(([w, text]) => (
                <option key={w} value={w}>
                  {text}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <p className="muted">
        Traffic as the edges see it and memory as the nodes measure it, reported every ~10 s and kept for 48
        hours.
      </p>
      <ErrorNote error={metrics.error} />
      {series && totals ? (
        <>
          <dl className="facts">
            <dt>Requests ({label})</dt>
            <dd data-metric="requests-total">{totals.requests.toLocaleString('en')}</dd>
            <dt>5xx responses</dt>
            <dd data-metric="errors-total">
              {totals.errors.toLocaleString('en')}
              {totals.errorRate === null ? '' : ` (${totals.errorRate.toFixed(1)} %)`}
            </dd>
          </dl>
          <div className="charts">
            <LineChart
              domain={domain}
              title="Requests per minute"
              unit="req/min"
              series={[{ name: 'requests', points: series.requestsPerMinute }]}
              format={(v) => v.toFixed(v < 10 ? 1 : 0)}
            />
            <LineChart
              domain={domain}
              title="5xx responses per minute"
              unit="5xx/min"
              series={[{ name: '5xx', points: series.errorsPerMinute, color: '#b91c1c' }]}
              format={(v) => v.toFixed(v < 10 ? 1 : 0)}
            />
            <LineChart
              domain={domain}
              title="Latency at the edge"
              unit="ms"
              series={[
                { name: 'p50', points: series.p50 },
                { name: 'p95', points: series.p95 },
              ]}
              format={(v) => v.toFixed(v < 10 ? 1 : 0)}
            />
            <LineChart
              domain={domain}
              title="Memory of all instances"
              unit="MiB"
              series={[{ name: 'memory', points: series.memoryMiB }]}
              format={(v) => v.toFixed(v < 10 ? 1 : 0)}
            />
            <LineChart
              domain={domain}
              title="CPU of all instances"
              unit="milli-CPU"
              series={[{ name: 'cpu', points: series.cpuMilli }]}
              format={(v) => v.toFixed(0)}
            />
          </div>
        </>
      ) : metrics.error === undefined ? (
        <Loading what="metrics" />
      ) : null}

      <h2>Deployments</h2>
      <div className="charts">
        <LineChart
          title="Instances of the current release"
          unit="instances"
          series={[
            { name: 'running', points: samples.running },
            { name: 'healthy', points: samples.healthy },
          ]}
        />
        <LineChart
          title="Deploy duration by release"
          unit="s"
          series={[{ name: 'duration', points: finished }]}
          format={(v) => v.toFixed(1)}
        />
      </div>
      <dl className="facts">
        <dt>Memory reserved by running instances</dt>
        <dd>
          {formatBytes(reserved)} ({app.resources.memory} each)
        </dd>
      </dl>
    </>
  );
}
