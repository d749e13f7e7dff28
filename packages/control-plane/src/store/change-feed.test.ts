import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { makeTempDir, removeDir, request } from '@shellwego/testkit';
import { dialects } from '@shellwego/testkit/vitest';
import { startControlPlane, type ControlPlane } from '../main.js';

const resources = {
  memory_total_bytes: 8 * 1024 ** 3,
  memory_used_bytes: 0,
  cpu_milli_total: 4000,
  cpu_milli_used: 0,
  disk_total_bytes: 10 * 1024 ** 3,
  disk_used_bytes: 0,
  instance_count: 0,
};

/** A WebSocket that keeps every JSON message; `next(pred)` waits for one that matches (already received or later). */
async function socket(url: string, token: string) {
  const messages: unknown[] = [];
  const waiters: { pred: (m: unknown) => boolean; resolve: (m: unknown) => void }[] = [];
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers: { authorization: `Bearer ${token}` } });
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as unknown;
    messages.push(m);
    for (const w of waiters.filter((x) => x.pred(m))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    next<T>(what: string, pred: (m: T) => boolean, timeoutMs = 5_000): Promise<T> {
      const seen = messages.find((m) => pred(m as T));
      if (seen !== undefined) return Promise.resolve(seen as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          pred: (m) => pred(m as T),
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m as T);
          },
        });
      });
    },
    close: () => ws.close(),
  };
}

// ARCHITECTURE.md "Beyond one machine": several control planes on one PostgreSQL; the leader's controllers act,
// and what they change reaches the watches open on the others through LISTEN/NOTIFY.
describe('changes fan out between control planes on postgres', () => {
  const postgres = dialects[1];
  it("a follower's node watch, edge route watch and event stream hear what the leader did", async () => {
    const url = await postgres.databaseUrl();
    const dataDir = await makeTempDir('swg-feed-');
    const options = {
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent' as const,
      rateLimit: null,
      dataDir,
      databaseUrl: url,
    };
    // A sweep far away: only the feed can make the leader act on what reaches the follower in time.
    const injected = { rollout: { sweepMs: 600_000, drainMs: 300 }, leaseCheckMs: 200 };
    const leader: ControlPlane = await startControlPlane(options, injected);
    const follower: ControlPlane = await startControlPlane(options, injected);
    const sockets: { close: () => void }[] = [];
    try {
      expect([leader, follower].map((cp) => cp.services.deps.isLeader?.())).toEqual([true, false]);
      const admin = leader.firstAdmin;
      if (!admin) throw new Error('no first admin');
      const login = await request(follower.url, 'POST', '/v1/auth/login', {
        body: { email: admin.email, password: admin.password },
      });
      const token = (login.body as { access_token: string }).access_token;
      const jt = (await request(leader.url, 'POST', '/v1/nodes/join-tokens', { token, body: {} })).body as {
        token: string;
      };
      const reg = (
        await request(follower.url, 'POST', '/v1/nodes/register', {
          body: {
            join_token: jt.token,
            name: 'node-f',
            runtimes: ['container'],
            capacity: { memory_bytes: 8 * 1024 ** 3, cpu_milli: 4000, disk_bytes: 10 * 1024 ** 3 },
          },
        })
      ).body as { node_id: string; credential: string };
      // The node, an edge and a user's event stream all talk to the follower.
      const watch = await socket(`${follower.url}/v1/nodes/${reg.node_id}/watch`, reg.credential);
      const routes = await socket(`${follower.url}/v1/edge/routes`, token);
      const events = await socket(`${follower.url}/v1/events`, token);
      sockets.push(watch, routes, events);
      await request(follower.url, 'POST', `/v1/nodes/${reg.node_id}/status`, {
        token: reg.credential,
        body: { instances: [], resources },
      });

      // The app and its deployment through the leader: its controller places the instance.
      const created = await request(leader.url, 'POST', '/v1/apps', {
        token,
        body: { name: 'fanned', image: 'registry.test/fanned:v1' },
      });
      expect(created.status).toBe(201);
      const state = await watch.next<{ instances: { id: string; app_id: string }[] }>(
        'desired state with the instance on the follower',
        (m) => m.instances?.length === 1,
      );
      const instance = state.instances[0];
      await events.next<{ type: string; id: string }>(
        'the instance.placed event on the follower',
        (m) => m.type === 'instance.placed' && m.id === instance?.id,
      );

      // The node reports it healthy to the follower; the leader routes it; the edge watching the follower sees it.
      await request(follower.url, 'POST', `/v1/nodes/${reg.node_id}/status`, {
        token: reg.credential,
        body: {
          instances: [{ id: instance?.id, state: 'running', health: 'healthy', address: '10.0.9.2' }],
          resources,
        },
      });
      const table = await routes.next<{
        revision: number;
        routes: { app_name: string; upstreams: { id: string; address: string }[] }[];
      }>('a route table with the instance on the follower', (m) =>
        (m.routes ?? []).some((r) => r.app_name === 'fanned' && r.upstreams.length === 1),
      );
      expect(table.routes.find((r) => r.app_name === 'fanned')?.upstreams).toEqual([
        expect.objectContaining({ id: instance?.id, address: '10.0.9.2:8080' }),
      ]);
      // Revisions follow the clock on every control plane, so the leader's own table is no older.
      const leaderTable = (await request(leader.url, 'GET', '/v1/edge/routes', { token })).body as {
        revision: number;
      };
      expect(Math.abs(leaderTable.revision - table.revision)).toBeLessThan(60_000);
    } finally {
      for (const s of sockets) s.close();
      await leader.close();
      await follower.close();
      await removeDir(dataDir);
    }
  }, 60_000);
});
