import { useState } from 'react';
import type { FormEvent } from 'react';
import type { AppCreate } from '@shellwego/api-client';
import { usePageTitle, useSession } from '../context.js';
import { navigate } from '../lib/router.js';
import { ErrorNote, Field } from '../components/ui.js';

export function NewAppPage() {
  usePageTitle('New app');
  const { client, org } = useSession();
  const [form, setForm] = useState({
    name: '',
    image: '',
    runtime: 'container' as 'container' | 'microvm' | 'wasm',
    port: '8080',
    memory: '256m',
    cpu: '0.5',
    replicas: '1',
    domain: '',
    healthPath: '/',
  });
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const set =
    (k: keyof typeof form) =>
    (e: { target: { value: string } }): void =>
      setForm((f) => ({ ...f, [k]: e.target.value }));
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: AppCreate = {
      name: form.name.trim(),
      org: org.org_id,
      image: form.image.trim(),
      runtime: form.runtime,
      port: Number(form.port),
      replicas: Number(form.replicas),
      resources: { memory: form.memory.trim(), cpu: form.cpu.trim() },
      health_check: { path: form.healthPath.trim() || '/' },
      ...(form.domain.trim() ? { domain: form.domain.trim() } : {}),
    };
    client.apps.create(body).then(
      (app) => navigate(`/apps/${encodeURIComponent(app.name)}/deploy`),
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  return (
    <section className="card">
      <h1>New app</h1>
      <p className="muted">Creating an app with an image deploys it at once in {org.org_name}.</p>
      <form onSubmit={submit} aria-busy={busy} className="grid">
        <Field label="Name" hint="Lower-case letters, digits and hyphens; it becomes the app's hostname.">
          {(id, hint) => (
            <input
              id={id}
              name="name"
              required
              pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
              maxLength={63}
              aria-describedby={hint}
              value={form.name}
              onChange={set('name')}
            />
          )}
        </Field>
        <Field label="Image" hint="e.g. ghost:latest or registry.example.com/team/app:v2">
          {(id, hint) => (
            <input
              id={id}
              name="image"
              required
              aria-describedby={hint}
              value={form.image}
              onChange={set('image')}
            />
          )}
        </Field>
        <Field label="Runtime">
          {(id) => (
            <select id={id} name="runtime" value={form.runtime} onChange={set('runtime')}>
              <option value="container">Container</option>
              <option value="microvm">microVM</option>
              <option value="wasm">WebAssembly</option>
            </select>
          )}
        </Field>
        <Field label="Port" hint="The app listens on $PORT, this value.">
          {(id, hint) => (
            <input
              id={id}
              name="port"
              type="number"
              min={1}
              max={65535}
              required
              aria-describedby={hint}
              value={form.port}
              onChange={set('port')}
            />
          )}
        </Field>
        <Field label="Memory" hint="256m, 1g, 512Mi">
          {(id, hint) => (
            <input
              id={id}
              name="memory"
              aria-describedby={hint}
              value={form.memory}
              onChange={set('memory')}
            />
          )}
        </Field>
        <Field label="CPU" hint="0.5, 1 or 500m">
          {(id, hint) => (
            <input id={id} name="cpu" aria-describedby={hint} value={form.cpu} onChange={set('cpu')} />
          )}
        </Field>
        <Field label="Replicas">
          {(id) => (
            <input
              id={id}
              name="replicas"
              type="number"
              min={0}
              max={100}
              value={form.replicas}
              onChange={set('replicas')}
            />
          )}
        </Field>
        <Field label="Health check path">
          {(id) => <input id={id} name="health" value={form.healthPath} onChange={set('healthPath')} />}
        </Field>
        <Field label="Custom domain (optional)" hint="e.g. blog.example.com">
          {(id, hint) => (
            <input
              id={id}
              name="domain"
              aria-describedby={hint}
              value={form.domain}
              onChange={set('domain')}
            />
          )}
        </Field>
        <div className="actions">
          <ErrorNote error={error} />
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create and deploy'}
          </button>
        </div>
      </form>
    </section>
  );
}
