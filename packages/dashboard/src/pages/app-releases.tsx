import { useState } from 'react';
import { useSession } from '../context.js';
import { useAsync } from '../lib/hooks.js';
import { navigate } from '../lib/router.js';
import { formatBytes, formatCpu, relativeTime } from '../lib/format.js';
import { ErrorNote, Loading, TableWrap } from '../components/ui.js';
import type { AppPanelProps } from './app.js';

export function ReleasesPanel({ app, changes, refresh }: AppPanelProps) {
  const { client } = useSession();
  const releases = useAsync(
    async () => (await client.apps.releases(app.name)).items,
    [client, app.name, changes],
  );
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState<number | null>(null);
  const rollback = (version: number): void => {
    setBusy(version);
    setError(undefined);
    client.apps.rollback(app.name, version).then(
      () => {
        setBusy(null);
        refresh();
        navigate(`/apps/${encodeURIComponent(app.name)}/deploy`);
      },
      (err: unknown) => {
        setError(err);
        setBusy(null);
      },
    );
  };
  return (
    <>
      <h2>Releases</h2>
      <p className="muted">
        Every deploy makes an immutable release. Rolling back deploys an earlier one again.
      </p>
      <ErrorNote error={error ?? releases.error} />
      {releases.data === undefined ? (
        <Loading what="releases" />
      ) : releases.data.length === 0 ? (
        <p className="muted">No releases yet.</p>
      ) : (
        <TableWrap label="Releases">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Image</th>
                <th scope="col">Resources</th>
                <th scope="col">Replicas</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {releases.data.map((r) => (
                <tr key={r.id} data-release={r.version}>
                  <th scope="row">
                    v{r.version} {r.current ? <span className="badge badge-ok">current</span> : null}
                  </th>
                  <td className="mono" title={r.image_digest ?? undefined}>
                    {r.image}
                  </td>
                  <td>
                    {formatBytes(r.resources.memory_bytes)}, {formatCpu(r.resources.cpu_milli)}
                  </td>
                  <td>{r.replicas}</td>
                  <td>{relativeTime(r.created_at)}</td>
                  <td>
                    {r.current ? null : (
                      <button
                        type="button"
                        onClick={() => rollback(r.version)}
                        disabled={busy !== null}
                        aria-label={`Roll back to release ${r.version}`}
                      >
                        {busy === r.version ? 'Rolling back…' : 'Roll back'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
