import { useEffect, useMemo, useRef, useState } from 'react';
import type { LogLine } from '@shellwego/api-client';
import { useSession } from '../context.js';
import { useLogStream } from '../lib/live.js';
import { logMatcher } from '../lib/format.js';
import { ErrorNote, Field } from '../components/ui.js';
import type { AppPanelProps } from './app.js';

const MAX_LINES = 2000;

export function LogsPanel({ app }: AppPanelProps) {
  const { client } = useSession();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const view = useRef<HTMLOListElement>(null);
  const release = app.release?.version ?? 0;
  const state = useLogStream(
    client,
    app.name,
    follow,
    (batch, reset) =>
      setLines((old) => {
        const next = reset ? batch : [...old, ...batch];
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      }),
    release,
  );
  // Paused: one snapshot of the tails, on demand.
  const snapshot = (): void => {
    setError(undefined);
    client.apps.logs(app.name, { tail: 500 }).then(
      (r) => setLines(r.items),
      (e: unknown) => setError(e),
    );
  };
  const matches = useMemo(() => logMatcher(query), [query]);
  const shown = useMemo(() => lines.filter((l) => matches(l.line)), [lines, matches]);
  useEffect(() => {
    const el = view.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [shown, follow]);
  return (
    <>
      <h2>Logs</h2>
      <div className="toolbar">
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow live
        </label>
        <Field label="Search" hint="Text, or /a regular expression/i">
          {(id, hint) => (
            <input
              id={id}
              type="search"
              name="log-search"
              aria-describedby={hint}
              value={query}
              onChange={(e) => setQuery(e.target.value)}
            />
          )}
        </Field>
        {follow ? null : (
          <button type="button" className="secondary" onClick={snapshot}>
            Load latest
          </button>
        )}
        <button type="button" className="secondary" onClick={() => setLines([])}>
          Clear
        </button>
        <span className="muted" role="status" data-log-state={state}>
          {follow
            ? state === 'live'
              ? 'live'
              : state === 'retrying'
                ? 'reconnecting…'
                : 'connecting…'
            : 'paused'}{' '}
          · {shown.length} of {lines.length} lines
        </span>
      </div>
      <ErrorNote error={error} />
      <ol className="logs" ref={view} tabIndex={0} aria-label={`Logs of ${app.name}`}>
        {shown.map((l, i) => (
          <li key={`${l.at}-${i}`} className={l.stream === 'stderr' ? 'stderr' : undefined}>
            <time dateTime={l.at}>{l.at.slice(11, 19)}</time>{' '}
            <span className="inst">{l.instance_id.slice(-6)}</span> {l.line}
          </li>
        ))}
      </ol>
    </>
  );
}
