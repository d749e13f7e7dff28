import { useId, useState } from 'react';
import type { ReactNode } from 'react';
import { toneOf } from '../lib/format.js';
import { messageOf } from '../lib/session.js';

const icons = { ok: '●', busy: '◐', bad: '✕', idle: '○' } as const;

/** A status word with a colour and a shape (never colour alone). */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  const tone = toneOf(status);
  return (
    <span className={`badge badge-${tone}`} data-status={status}>
      <span aria-hidden="true">{icons[tone]}</span> {label ?? status.replace(/_/g, ' ')}
    </span>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p className="note note-error" role="alert">
      {messageOf(error)}
    </p>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'ok' | 'warn' }) {
  return (
    <p className={`note note-${tone}`} role="status">
      {children}
    </p>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = (): void => {
    navigator.clipboard.writeText(text).then(
      () => {
        setDone(true);
        window.setTimeout(() => setDone(false), 2000);
      },
      () => setDone(false),
    );
  };
  return (
    <button type="button" className="secondary" onClick={copy}>
      {done ? 'Copied' : label}
    </button>
  );
}

/** A secret shown once (a token, a join command) with a copy button. */
export function ShownOnce({ title, value }: { title: string; value: string }) {
  const id = useId();
  return (
    <div className="shown-once" role="status">
      <p id={id}>
        <strong>{title}</strong> It is shown only now.
      </p>
      <pre aria-labelledby={id} tabIndex={0}>
        {value}
      </pre>
      <CopyButton text={value} />
    </div>
  );
}

export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id, hint ? hintId : undefined)}
      {hint ? (
        <small id={hintId} className="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Tables scroll sideways on a phone rather than squeezing their columns. */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
