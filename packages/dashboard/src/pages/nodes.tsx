import { useState } from 'react';
import type { FormEvent } from 'react';
import { allPages } from '@shellwego/api-client';
import type { App, Node } from '@shellwego/api-client';
import { usePageTitle, useSession } from '../context.js';
import { useAsync, useInterval } from '../lib/hooks.js';
import { formatBytes, formatCpu, joinCommand, relativeTime } from '../lib/format.js';
import { ErrorNote, Field, Loading, ShownOnce, StatusBadge, TableWrap } from '../components/ui.js';

interface Usage {
  instances: number;
  memory: number;
  cpu: number;
}

/** What the apps' running instances reserve on each node (the API reports capacity, not live use). */
export function usageByNode(apps: readonly App[]): Map<string, Usage> {
  const out = new Map<string, Usage>();
  for (const a of apps)
    for (const i of a.instances) {
      if (i.state === 'stopped' || i.state === 'failed') continue;
      const u = out.get(i.node_id) ?? { instances: 0, memory: 0, cpu: 0 };
      u.instances++;
      u.memory += a.resources.memory_bytes;
      u.cpu += a.resources.cpu_milli;
      out.set(i.node_id, u);
    }
  return out;
}

function Meter({ used, total, label }: { used: number; total: number; label: string }) {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  return (
    <div className="meter-wrap">
      <meter min={0} max={total || 1} value={used} aria-label={label} />
      <span>{pct}%</span>
    </div>
  );
}

export function NodesPage() {
  usePageTitle('Nodes');
  const { client, org, isAdmin } = useSession();
  const nodes = useAsync(async () => (await client.nodes.list()).items, [client]);
  const apps = useAsync(() => allPages((cursor) => client.apps.list(cursor ? { cursor } : {})), [client]);
  useInterval(() => {
    nodes.reload();
    apps.reload();
  }, 10_000);
  const usage = usageByNode(apps.data ?? []);
  const [zone, setZone] = useState('');
  const [ttl, setTtl] = useState('24');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const createToken = (e: FormEvent): void => {
    e.preventDefault();
    setError(undefined);
    client.nodes.joinTokens
      .create({ ttl_hours: Number(ttl), ...(zone.trim() ? { zone: zone.trim() } : {}), org: org.org_id })
      .then(
        (jt) => setCreated(joinCommand(window.location.origin, jt.token)),
        (err: unknown) => setError(err),
      );
  };
  if (!isAdmin) return <p>Nodes are for administrators.</p>;
  return (
    <section>
      <h1>Nodes</h1>
      <ErrorNote error={nodes.error} />
      {nodes.data === undefined ? (
        <Loading what="nodes" />
      ) : nodes.data.length === 0 ? (
        <p className="muted">No nodes yet: create a join token below and run the command on a new machine.</p>
      ) : (
        <TableWrap label="Nodes">
          <table>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Status</th>
                <th scope="col">Runtimes</th>
                <th scope="col">Memory reserved / capacity</th>
                <th scope="col">CPU reserved / capacity</th>
                <th scope="col">Disk</th>
                <th scope="col">Instances</th>
                <th scope="col">Heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {nodes.data.map((n: Node) => {
                const u = usage.get(n.id) ?? { instances: 0, memory: 0, cpu: 0 };
                return (
                  <tr key={n.id}>
                    <th scope="row">
                      {n.name}
                      <div className="muted mono small">
                        {n.zone ? `${n.zone} · ` : ''}
                        {n.id}
                      </div>
                    </th>
                    <td>
                      <StatusBadge status={n.status} />
                    </td>
                    <td>{n.runtimes.join(', ')}</td>
                    <td>
                      {formatBytes(u.memory)} / {formatBytes(n.capacity.memory_bytes)}
                      <Meter
                        used={u.memory}
                        total={n.capacity.memory_bytes}
                        label={`Memory reserved on ${n.name}`}
                      />
                    </td>
                    <td>
                      {formatCpu(u.cpu)} / {formatCpu(n.capacity.cpu_milli)}
                      <Meter used={u.cpu} total={n.capacity.cpu_milli} label={`CPU reserved on ${n.name}`} />
                    </td>
                    <td>{formatBytes(n.capacity.disk_bytes)}</td>
                    <td>{u.instances}</td>
                    <td>{relativeTime(n.last_heartbeat_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      <p className="muted small">
        Reserved: the memory and CPU limits of the instances placed on each node, from the apps you can see.
      </p>
      <h2>Add a node</h2>
      <form onSubmit={createToken} className="inline-form">
        <Field label="Zone (optional)">
          {(id) => <input id={id} name="zone" value={zone} onChange={(e) => setZone(e.target.value)} />}
        </Field>
        <Field label="Valid for (hours)">
          {(id) => (
            <input
              id={id}
              name="ttl"
              type="number"
              min={1}
              max={720}
              value={ttl}
              onChange={(e) => setTtl(e.target.value)}
            />
          )}
        </Field>
        <button type="submit">Create join token</button>
      </form>
      <ErrorNote error={error} />
      {created ? <ShownOnce title="Run this on the new node, as root." value={created} /> : null}
    </section>
  );
}
