import { useState } from 'react';
import type { FormEvent } from 'react';
import type { AppPatch } from '@shellwego/api-client';
import { useSession } from '../context.js';
import { envToLines, parseEnvLines } from '../lib/format.js';
import { ErrorNote, Field, Notice } from '../components/ui.js';
import type { AppPanelProps } from './app.js';

function useSave(app: string, refresh: () => void) {
  const { client } = useSession();
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = (patch: AppPatch, what: string): void => {
    setBusy(true);
    setError(undefined);
    setSaved(null);
    client.apps.update(app, patch).then(
      () => {
        setBusy(false);
        setSaved(what);
        refresh();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return { error, saved, busy, save, setError };
}

export function SettingsPanel({ app, refresh }: AppPanelProps) {
  const [replicas, setReplicas] = useState(String(app.replicas));
  const [memory, setMemory] = useState(app.resources.memory);
  const [cpu, setCpu] = useState(app.resources.cpu);
  const [env, setEnv] = useState(envToLines(app.env));
  const s = useSave(app.name, refresh);

  const scale = (e: FormEvent): void => {
    e.preventDefault();
    s.save({ replicas: Number(replicas) }, `Scaled to ${replicas}.`);
  };
  const resources = (e: FormEvent): void => {
    e.preventDefault();
    s.save(
      { resources: { memory: memory.trim(), cpu: cpu.trim() } },
      'Resources saved; a deploy applies them.',
    );
  };
  const saveEnv = (e: FormEvent): void => {
    e.preventDefault();
    const parsed = parseEnvLines(env);
    if (parsed.errors.length) {
      s.setError(new Error(parsed.errors.join('; ')));
      return;
    }
    s.save({ env: parsed.env }, 'Environment saved; a deploy applies it.');
  };
  return (
    <>
      {s.saved ? <Notice tone="ok">{s.saved}</Notice> : null}
      <ErrorNote error={s.error} />
      <h2>Scale</h2>
      <form onSubmit={scale} className="inline-form">
        <Field label="Replicas">
          {(id) => (
            <input
              id={id}
              name="replicas"
              type="number"
              min={0}
              max={100}
              value={replicas}
              onChange={(e) => setReplicas(e.target.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={s.busy}>
          Scale
        </button>
      </form>
      <h2>Resources per instance</h2>
      <form onSubmit={resources} className="inline-form">
        <Field label="Memory" hint="256m, 1g, 512Mi">
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              value={memory}
              onChange={(e) => setMemory(e.target.value)}
            />
          )}
        </Field>
        <Field label="CPU" hint="0.5, 1 or 500m">
          {(id, hint) => (
            <input id={id} aria-describedby={hint} value={cpu} onChange={(e) => setCpu(e.target.value)} />
          )}
        </Field>
        <button type="submit" disabled={s.busy}>
          Save resources
        </button>
      </form>
      <h2>Environment</h2>
      <form onSubmit={saveEnv}>
        <Field
          label="Variables"
          hint="One NAME=value per line. Values here are visible to your organization; use Secrets for credentials."
        >
          {(id, hint) => (
            <textarea
              id={id}
              rows={Math.max(4, env.split('\n').length + 1)}
              className="mono"
              spellCheck={false}
              aria-describedby={hint}
              value={env}
              onChange={(e) => setEnv(e.target.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={s.busy}>
          Save environment
        </button>
      </form>
    </>
  );
}
