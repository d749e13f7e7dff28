import { allPages } from '@shellwego/api-client';
import type { App } from '@shellwego/api-client';
import { usePageTitle, useSession } from '../context.js';
import { useAsync, useInterval } from '../lib/hooks.js';
import { useEvents } from '../lib/live.js';
import { Link } from '../lib/router.js';
import { relativeTime } from '../lib/format.js';
import { ErrorNote, Loading, StatusBadge, TableWrap } from '../components/ui.js';

export function instanceSummary(app: App): string {
  const current = app.instances.filter((i) => i.release === app.release?.version);
  const running = current.filter((i) => i.state === 'running').length;
  return `${running}/${app.replicas}`;
}

export function AppsPage() {
  usePageTitle('Apps');
  const { client, org } = useSession();
  const apps = useAsync(
    () => allPages((cursor) => client.apps.list({ org: org.org_id, ...(cursor ? { cursor } : {}) })),
    [client, org.org_id],
  );
  useEvents(client, (e) => {
    if (e.resource === 'deployments' || e.resource === 'apps') apps.reload();
  });
  useInterval(apps.reload, 10_000);
  return (
    <section>
      <div className="heading">
        <h1>Apps</h1>
        <Link to="/apps/new" className="button">
          New app
        </Link>
      </div>
      <ErrorNote error={apps.error} />
      {apps.data === undefined ? (
        apps.error === undefined ? (
          <Loading what="apps" />
        ) : null
      ) : apps.data.length === 0 ? (
        <p>
          No apps in {org.org_name} yet. <Link to="/apps/new">Create one from an image</Link>.
        </p>
      ) : (
        <TableWrap label="Apps">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">URL</th>
                <th scope="col">Instances</th>
                <th scope="col">Image</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {apps.data.map((a) => (
                <tr key={a.id}>
                  <th scope="row">
                    <Link to={`/apps/${encodeURIComponent(a.name)}`}>{a.name}</Link>
                  </th>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td>
                    <a href={a.url} target="_blank" rel="noreferrer">
                      {a.url}
                    </a>
                  </td>
                  <td>{instanceSummary(a)}</td>
                  <td className="mono">{a.image ?? '–'}</td>
                  <td>
                    <time dateTime={a.updated_at}>{relativeTime(a.updated_at)}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
