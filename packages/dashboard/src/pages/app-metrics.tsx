import { formatBytes } from '../lib/format.js';
import { LineChart } from '../components/chart.js';
import type { AppPanelProps } from './app.js';

export interface Samples {
  running: (readonly [number, number])[];
  healthy: (readonly [number, number])[];
}

export function MetricsPanel({ app, deployments, samples }: AppPanelProps & { samples: Samples }) {
  const finished = (deployments ?? [])
    .filter((d) => d.finished_at !== null)
    .map((d) => [d.release, (Date.parse(d.finished_at ?? '') - Date.parse(d.created_at)) / 1000] as const)
    .filter(([, s]) => Number.isFinite(s))
    .reverse();
  const reserved = app.instances.filter((i) => i.state === 'running').length * app.resources.memory_bytes;
  return (
    <>
      <h2>Metrics</h2>
      <p className="note note-info">
        The API has no per-app metrics endpoint yet: request counts, latency and memory use are exported by
        the edge and the agent on their own <code>/metrics</code> ports, which <code>/v1</code> does not
        serve. Below is what the API does tell: instances sampled while this page is open, deploy durations,
        and the memory reserved.
      </p>
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
