import { useState } from 'react';
import type { FormEvent } from 'react';
import { useSession } from '../context.js';
import { useAsync, useInterval } from '../lib/hooks.js';
import { relativeTime } from '../lib/format.js';
import { ErrorNote, Field, Loading, StatusBadge, TableWrap } from '../components/ui.js';
import type { AppPanelProps } from './app.js';

export function DomainsPanel({ app, refresh }: AppPanelProps) {
  const { client } = useSession();
  const domains = useAsync(async () => (await client.domains.list(app.name)).items, [client, app.name]);
  const [hostname, setHostname] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  // Certificates are issued in the background: watch them while any is on its way.
  const issuing =
    domains.data?.some((d) => d.tls_status === 'pending' || d.tls_status === 'issuing') ?? false;
  useInterval(domains.reload, issuing ? 3000 : null);
  const add = (e: FormEvent): void => {
    e.preventDefault();
    setError(undefined);
    client.domains.add(app.name, hostname.trim().toLowerCase()).then(
      () => {
        setHostname('');
        domains.reload();
        refresh();
      },
      (err: unknown) => setError(err),
    );
  };
  const remove = (h: string): void => {
    if (!window.confirm(`Remove ${h} from ${app.name}?`)) return;
    client.domains.remove(app.name, h).then(
      () => {
        domains.reload();
        refresh();
      },
      (err: unknown) => setError(err),
    );
  };
  return (
    <>
      <h2>Domains</h2>
      <p className="muted">
        Default hostname: <a href={app.url}>{app.url}</a>. Point a custom domain&apos;s DNS at this platform,
        then add it here; its certificate is issued automatically.
      </p>
      <ErrorNote error={error ?? domains.error} />
      {domains.data === undefined ? (
        <Loading what="domains" />
      ) : domains.data.length === 0 ? (
        <p className="muted">No custom domains.</p>
      ) : (
        <TableWrap label="Domains">
          <table>
            <thead>
              <tr>
                <th scope="col">Hostname</th>
                <th scope="col">Certificate</th>
                <th scope="col">Expires</th>
                <th scope="col">Last ACME error</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {domains.data.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.hostname}</th>
                  <td>
                    <StatusBadge status={d.tls_status} />
                  </td>
                  <td>{d.certificate_expires_at ? relativeTime(d.certificate_expires_at) : '–'}</td>
                  <td className={d.last_acme_error ? 'error-text' : 'muted'}>
                    {d.last_acme_error ?? 'none'}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => remove(d.hostname)}
                      aria-label={`Remove ${d.hostname}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <h3>Add a domain</h3>
      <form onSubmit={add} className="inline-form">
        <Field label="Hostname" hint="e.g. blog.example.com">
          {(id, hint) => (
            <input
              id={id}
              name="hostname"
              required
              aria-describedby={hint}
              value={hostname}
              onChange={(e) => setHostname(e.target.value)}
            />
          )}
        </Field>
        <button type="submit">Add domain</button>
      </form>
    </>
  );
}
