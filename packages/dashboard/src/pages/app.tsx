import { useCallback, useEffect, useRef, useState } from 'react';
import type { App, Deployment, PlatformEvent } from '@shellwego/api-client';
import { usePageTitle, useSession } from '../context.js';
import { useAsync, useInterval } from '../lib/hooks.js';
import { useEvents } from '../lib/live.js';
import { Link } from '../lib/router.js';
import { pushSample, relativeTime } from '../lib/format.js';
import { ErrorNote, Loading, StatusBadge, TableWrap } from '../components/ui.js';
import { DeployPanel } from './app-deploy.js';
import { ReleasesPanel } from './app-releases.js';
import { SettingsPanel } from './app-settings.js';
import { SecretsPanel } from './app-secrets.js';
import { DomainsPanel } from './app-domains.js';
import { LogsPanel } from './app-logs.js';
import { MetricsPanel } from './app-metrics.js';
import type { Samples } from './app-metrics.js';

const tabs = [
  ['overview', 'Overview'],
  ['deploy', 'Deploy'],
  ['releases', 'Releases'],
  ['settings', 'Scale & env'],
  ['secrets', 'Secrets'],
  ['domains', 'Domains'],
  ['logs', 'Logs'],
  ['metrics', 'Metrics'],
] as const;

/** What every panel of the app page gets. */
export interface AppPanelProps {
  app: App;
  deployments: Deployment[] | undefined;
  events: PlatformEvent[];
  /** Load the app and its deployments again (after a change). */
  refresh: () => void;
  /** Bumped on each event of this app: panels with their own data load it again. */
  changes: number;
}

export function AppPage({ name, tab }: { name: string; tab: string }) {
  const label = tabs.find(([k]) => k === tab)?.[1] ?? 'Overview';
  usePageTitle(`${name} · ${label}`);
  const { client } = useSession();
  const app = useAsync(() => client.apps.get(name), [client, name]);
  const deployments = useAsync(async () => (await client.apps.deployments(name)).items, [client, name]);
  const [events, setEvents] = useState<PlatformEvent[]>([]);
  const [changes, setChanges] = useState(0);
  const [samples, setSamples] = useState<Samples>({ running: [], healthy: [] });
  const appId = app.data?.id;

  const refresh = useCallback(() => {
    app.reload();
    deployments.reload();
  }, [app.reload, deployments.reload]);

  // Events come in bursts (one per step and instance): reload once per burst.
  const pending = useRef<number | undefined>(undefined);
  useEvents(client, (e) => {
    if (appId === undefined || (e.data.app_id !== appId && e.id !== appId)) return;
    setEvents((list) => pushSample(list, e, 50));
    setChanges((c) => c + 1);
    window.clearTimeout(pending.current);
    pending.current = window.setTimeout(refresh, 150);
  });
  useEffect(() => () => window.clearTimeout(pending.current), []);
  const deploying =
    app.data?.status === 'deploying' ||
    (deployments.data?.[0] !== undefined &&
      !['succeeded', 'failed', 'rolled_back', 'cancelled'].includes(deployments.data[0].status));
  useInterval(refresh, deploying ? 2000 : 8000);

  useEffect(() => {
    const a = app.data;
    if (!a) return;
    const now = Date.now();
    const current = a.instances.filter((i) => i.release === a.release?.version);
    setSamples((s) => ({
      running: pushSample(s.running, [now, current.filter((i) => i.state === 'running').length] as const),
      healthy: pushSample(s.healthy, [now, current.filter((i) => i.health === 'healthy').length] as const),
    }));
  }, [app.data]);

  if (!app.data) {
    return (
      <section>
        <h1>{name}</h1>
        {app.error !== undefined ? <ErrorNote error={app.error} /> : <Loading what={name} />}
        <p>
          <Link to="/apps">Back to apps</Link>
        </p>
      </section>
    );
  }
  const a = app.data;
  const props: AppPanelProps = { app: a, deployments: deployments.data, events, refresh, changes };
  return (
    <section>
      <div className="heading">
        <h1>
          {a.name} <StatusBadge status={a.status} />
        </h1>
        <a href={a.url} target="_blank" rel="noreferrer" className="button secondary">
          Open {a.url}
        </a>
      </div>
      <p className="muted">
        {a.release ? (
          <>
            Release {a.release.version} of <span className="mono">{a.release.image}</span>
          </>
        ) : (
          'No release serves yet.'
        )}{' '}
        · {a.runtime} · {a.replicas} replica{a.replicas === 1 ? '' : 's'}
      </p>
      <ErrorNote error={app.error} />
      <nav aria-label="App sections" className="tabs">
        <ul>
          {tabs.map(([key, text]) => (
            <li key={key}>
              <Link
                to={`/apps/${encodeURIComponent(a.name)}${key === 'overview' ? '' : `/${key}`}`}
                aria-current={tab === key ? 'page' : undefined}
              >
                {text}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="panel">
        {tab === 'deploy' ? (
          <DeployPanel {...props} />
        ) : tab === 'releases' ? (
          <ReleasesPanel {...props} />
        ) : tab === 'settings' ? (
          <SettingsPanel {...props} />
        ) : tab === 'secrets' ? (
          <SecretsPanel {...props} />
        ) : tab === 'domains' ? (
          <DomainsPanel {...props} />
        ) : tab === 'logs' ? (
          <LogsPanel {...props} />
        ) : tab === 'metrics' ? (
          <MetricsPanel {...props} samples={samples} />
        ) : (
          <Overview {...props} />
        )}
      </div>
    </section>
  );
}

function Overview({ app, deployments }: AppPanelProps) {
  const last = deployments?.[0];
  return (
    <>
      <h2>Instances</h2>
      {app.instances.length === 0 ? (
        <p className="muted">
          No instances: {app.replicas === 0 ? 'the app is scaled to 0.' : 'none placed yet.'}
        </p>
      ) : (
        <TableWrap label="Instances">
          <table>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Release</th>
                <th scope="col">State</th>
                <th scope="col">Health</th>
                <th scope="col">Routed</th>
                <th scope="col">Node</th>
                <th scope="col">Address</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {app.instances.map((i) => (
                <tr key={i.id} data-instance-state={i.state}>
                  <th scope="row" className="mono">
                    {i.id}
                  </th>
                  <td>{i.release}</td>
                  <td>
                    <StatusBadge status={i.state} />
                  </td>
                  <td>
                    <StatusBadge status={i.health} />
                  </td>
                  <td>{i.routed ? 'yes' : 'no'}</td>
                  <td className="mono">{i.node_id}</td>
                  <td className="mono">{i.address ?? '–'}</td>
                  <td>{i.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <h2>Latest deployment</h2>
      {last ? (
        <p>
          Release {last.release}: <StatusBadge status={last.status} /> {relativeTime(last.updated_at)}
          {last.reason ? <> — {last.reason}</> : null}{' '}
          <Link to={`/apps/${encodeURIComponent(app.name)}/deploy`}>Details</Link>
        </p>
      ) : (
        <p className="muted">Not deployed yet.</p>
      )}
      <h2>Settings</h2>
      <dl className="facts">
        <dt>Image</dt>
        <dd className="mono">{app.image ?? '–'}</dd>
        <dt>Resources</dt>
        <dd>
          {app.resources.memory} memory, {app.resources.cpu} CPU per instance
        </dd>
        <dt>Port</dt>
        <dd>{app.port}</dd>
        <dt>Health check</dt>
        <dd>
          <span className="mono">{app.health_check.path}</span> every {app.health_check.interval}, timeout{' '}
          {app.health_check.timeout}
        </dd>
        <dt>Domains</dt>
        <dd>{app.domains.length ? app.domains.join(', ') : 'only the default hostname'}</dd>
      </dl>
    </>
  );
}
