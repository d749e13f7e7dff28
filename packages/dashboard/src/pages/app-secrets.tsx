import { useState } from 'react';
import type { FormEvent } from 'react';
import { useSession } from '../context.js';
import { useAsync } from '../lib/hooks.js';
import { relativeTime } from '../lib/format.js';
import { ErrorNote, Field, Loading, Notice, TableWrap } from '../components/ui.js';
import type { AppPanelProps } from './app.js';

export function SecretsPanel({ app }: AppPanelProps) {
  const { client } = useSession();
  const secrets = useAsync(async () => (await client.secrets.list(app.name)).items, [client, app.name]);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState<string | null>(null);
  const set = (e: FormEvent): void => {
    e.preventDefault();
    setError(undefined);
    client.secrets.set(app.name, name.trim(), value).then(
      (s) => {
        setSaved(`${s.name} saved (version ${s.version}); a deploy gives it to the app.`);
        setName('');
        setValue('');
        secrets.reload();
      },
      (err: unknown) => setError(err),
    );
  };
  const unset = (n: string): void => {
    if (!window.confirm(`Delete the secret ${n}?`)) return;
    client.secrets.unset(app.name, n).then(secrets.reload, (err: unknown) => setError(err));
  };
  return (
    <>
      <h2>Secrets</h2>
      <p className="muted">
        Secrets reach the app as environment variables. Their values are write-only: nobody can read them back
        here.
      </p>
      {saved ? <Notice tone="ok">{saved}</Notice> : null}
      <ErrorNote error={error ?? secrets.error} />
      {secrets.data === undefined ? (
        <Loading what="secrets" />
      ) : secrets.data.length === 0 ? (
        <p className="muted">No secrets.</p>
      ) : (
        <TableWrap label="Secrets">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {secrets.data.map((s) => (
                <tr key={s.name}>
                  <th scope="row" className="mono">
                    {s.name}
                  </th>
                  <td>{s.version}</td>
                  <td>{relativeTime(s.updated_at)}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => unset(s.name)}
                      aria-label={`Delete ${s.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <h3>Set a secret</h3>
      <form onSubmit={set} className="inline-form" autoComplete="off">
        <Field label="Name">
          {(id) => (
            <input
              id={id}
              name="secret-name"
              required
              pattern="[A-Za-z_][A-Za-z0-9_]*"
              className="mono"
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <Field label="Value">
          {(id) => (
            <input
              id={id}
              name="secret-value"
              type="password"
              autoComplete="new-password"
              required
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          )}
        </Field>
        <button type="submit">Save secret</button>
      </form>
    </>
  );
}
