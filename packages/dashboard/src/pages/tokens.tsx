import { useState } from 'react';
import type { FormEvent } from 'react';
import { usePageTitle, useSession } from '../context.js';
import { useAsync } from '../lib/hooks.js';
import { relativeTime } from '../lib/format.js';
import { ErrorNote, Field, Loading, ShownOnce, TableWrap } from '../components/ui.js';

export function TokensPage() {
  usePageTitle('API tokens');
  const { client, org } = useSession();
  const tokens = useAsync(async () => (await client.tokens.list()).items, [client]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState('');
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const create = (e: FormEvent): void => {
    e.preventDefault();
    setError(undefined);
    const list = scopes
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    client.tokens
      .create({
        name: name.trim(),
        org: org.org_id,
        ...(list.length ? { scopes: list } : {}),
        ...(days.trim() ? { expires_in_days: Number(days) } : {}),
      })
      .then(
        (t) => {
          setCreated(t.token);
          setName('');
          tokens.reload();
        },
        (err: unknown) => setError(err),
      );
  };
  const revoke = (id: string, n: string): void => {
    if (!window.confirm(`Revoke the token ${n}? Scripts using it stop working.`)) return;
    client.tokens.revoke(id).then(tokens.reload, (err: unknown) => setError(err));
  };
  return (
    <section>
      <h1>API tokens</h1>
      <p className="muted">
        Tokens let scripts and CI call the API as you, within {org.org_name}:{' '}
        <code>Authorization: Bearer swg_…</code>.
      </p>
      <ErrorNote error={error ?? tokens.error} />
      {tokens.data === undefined ? (
        <Loading what="tokens" />
      ) : tokens.data.length === 0 ? (
        <p className="muted">No tokens.</p>
      ) : (
        <TableWrap label="API tokens">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id}>
                  <th scope="row">{t.name}</th>
                  <td className="mono">{t.scopes.length ? t.scopes.join(' ') : 'your role'}</td>
                  <td>{relativeTime(t.created_at)}</td>
                  <td>{t.expires_at ? relativeTime(t.expires_at) : 'never'}</td>
                  <td>{relativeTime(t.last_used_at)}</td>
                  <td>
                    <button type="button" className="danger" onClick={() => revoke(t.id, t.name)}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <h2>Create a token</h2>
      <form onSubmit={create} className="inline-form">
        <Field label="Name">
          {(id) => (
            <input id={id} required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          )}
        </Field>
        <Field label="Scopes (optional)" hint="e.g. apps:read:* apps:write:my-app; empty: your role's">
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              value={scopes}
              onChange={(e) => setScopes(e.target.value)}
            />
          )}
        </Field>
        <Field label="Expires in (days)">
          {(id) => (
            <input
              id={id}
              type="number"
              min={1}
              max={3650}
              value={days}
              onChange={(e) => setDays(e.target.value)}
            />
          )}
        </Field>
        <button type="submit">Create token</button>
      </form>
      {created ? <ShownOnce title="Your new token." value={created} /> : null}
    </section>
  );
}
