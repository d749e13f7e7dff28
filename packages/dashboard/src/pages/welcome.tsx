import { useState } from 'react';
import type { FormEvent } from 'react';
import { usePageTitle, useSession } from '../context.js';
import { ErrorNote, Field } from '../components/ui.js';

/** The first run: the admin still has the password printed at the first start and picks their own. */
export function WelcomePage({ onDone }: { onDone: () => void }) {
  usePageTitle('Choose your password');
  const { client, branding, me } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (next !== again) {
      setError(new Error('the two new passwords differ'));
      return;
    }
    setBusy(true);
    setError(undefined);
    // The change ends every session of the user; the client adopts (and the session store keeps) the new one.
    client.password.change({ current_password: current, new_password: next }).then(
      () => onDone(),
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  return (
    <section className="card narrow">
      <h1>Welcome to {branding.name}</h1>
      <p>
        You are logged in as <strong>{me.email}</strong> with the password that was printed when the platform
        first started. Anyone who saw that output could use it: choose a password of your own now.
      </p>
      <form onSubmit={submit} aria-busy={busy}>
        <Field label="Printed password">
          {(id) => (
            <input
              id={id}
              name="current-password"
              type="password"
              autoComplete="current-password"
              required
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          )}
        </Field>
        <Field label="New password" hint="At least 10 characters.">
          {(id, hint) => (
            <input
              id={id}
              name="new-password"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
              aria-describedby={hint}
              value={next}
              onChange={(e) => setNext(e.target.value)}
            />
          )}
        </Field>
        <Field label="New password, again">
          {(id) => (
            <input
              id={id}
              name="new-password-again"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
              value={again}
              onChange={(e) => setAgain(e.target.value)}
            />
          )}
        </Field>
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save my password'}
        </button>
      </form>
    </section>
  );
}
