import { useState } from 'react';
import type { FormEvent } from 'react';
import { useSession } from '../context.js';
import { duration, finishedDeployment, relativeTime } from '../lib/format.js';
import { ErrorNote, Field, StatusBadge, TableWrap } from '../components/ui.js';
import type { AppPanelProps } from './app.js';

export function DeployPanel({ app, deployments, events, refresh }: AppPanelProps) {
  const { client } = useSession();
  const [image, setImage] = useState(app.image ?? '');
  const [strategy, setStrategy] = useState<'rolling' | 'bluegreen'>('rolling');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const current = deployments?.[0];
  const running = current !== undefined && !finishedDeployment.has(current.status);

  const deploy = (e: FormEvent): void => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    client.apps.deploy(app.name, { ...(image.trim() ? { image: image.trim() } : {}), strategy }).then(
      () => {
        setBusy(false);
        refresh();
      },
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  const cancel = (id: string): void => {
    client.deployments.cancel(id).then(refresh, (err: unknown) => setError(err));
  };

  return (
    <>
      <h2>Deploy</h2>
      <form onSubmit={deploy} className="inline-form" aria-busy={busy}>
        <Field label="Image" hint="Leave as it is to deploy the same image again.">
          {(id, hint) => (
            <input
              id={id}
              name="deploy-image"
              aria-describedby={hint}
              value={image}
              onChange={(e) => setImage(e.target.value)}
            />
          )}
        </Field>
        <Field label="Strategy">
          {(id) => (
            <select
              id={id}
              value={strategy}
              onChange={(e) => setStrategy(e.target.value === 'bluegreen' ? 'bluegreen' : 'rolling')}
            >
              <option value="rolling">Rolling (one at a time)</option>
              <option value="bluegreen">Blue-green (all at once)</option>
            </select>
          )}
        </Field>
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Deploy'}
        </button>
      </form>
      <ErrorNote error={error} />

      <h2>Progress</h2>
      {current ? (
        <div className="progress" aria-live="polite" data-deployment-status={current.status}>
          <p>
            Release {current.release}: <StatusBadge status={current.status} />{' '}
            <span className="muted">
              {current.strategy}, started {relativeTime(current.created_at)}
              {current.finished_at ? `, took ${duration(current.created_at, current.finished_at)}` : ''}
            </span>{' '}
            {running ? (
              <button type="button" className="secondary" onClick={() => cancel(current.id)}>
                Cancel
              </button>
            ) : null}
          </p>
          {current.reason ? (
            <p className={current.status === 'succeeded' ? 'muted' : 'note note-error'}>{current.reason}</p>
          ) : null}
          <ol className="steps">
            {current.steps.map((s, i) => (
              <li key={`${s.at}-${i}`}>
                <StatusBadge status={s.status} /> {s.message}{' '}
                <time className="muted" dateTime={s.at}>
                  {new Date(s.at).toLocaleTimeString()}
                </time>
              </li>
            ))}
          </ol>
        </div>
      ) : (
        <p className="muted">No deployment yet.</p>
      )}

      <h2>Live events</h2>
      {events.length === 0 ? (
        <p className="muted">Events of this app appear here as they happen.</p>
      ) : (
        <ul className="events" aria-live="polite">
          {[...events].reverse().map((e) => (
            <li key={e.seq}>
              <time className="muted" dateTime={e.at}>
                {new Date(e.at).toLocaleTimeString()}
              </time>{' '}
              <span className="mono">{e.type}</span>{' '}
              {typeof e.data.message === 'string'
                ? e.data.message
                : typeof e.data.reason === 'string'
                  ? e.data.reason
                  : ''}
            </li>
          ))}
        </ul>
      )}

      <h2>History</h2>
      {deployments && deployments.length > 0 ? (
        <TableWrap label="Deployments">
          <table>
            <thead>
              <tr>
                <th scope="col">Release</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Took</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {deployments.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.release}</th>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>{relativeTime(d.created_at)}</td>
                  <td>{duration(d.created_at, d.finished_at)}</td>
                  <td>{d.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
    </>
  );
}
