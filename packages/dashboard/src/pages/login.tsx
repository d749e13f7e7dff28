import { useState } from 'react';
import type { FormEvent } from 'react';
import type { ApiClient } from '@shellwego/api-client';
import { usePageTitle } from '../context.js';
import { makeClient } from '../lib/session.js';
import { ErrorNote, Field } from '../components/ui.js';

export function LoginPage({ onLoggedIn }: { onLoggedIn: (client: ApiClient) => void }) {
  usePageTitle('Log in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    // The client saves the new pair through onTokens (see makeClient).
    const client = makeClient(null);
    client.auth.login({ email, password }).then(
      () => onLoggedIn(client),
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  return (
    <section className="card narrow">
      <h1>Log in</h1>
      <form onSubmit={submit} aria-busy={busy}>
        <Field label="E-mail">
          {(id) => (
            <input
              id={id}
              name="email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password">
          {(id) => (
            <input
              id={id}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </section>
  );
}
