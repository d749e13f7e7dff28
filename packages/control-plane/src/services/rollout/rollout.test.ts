import { describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, request, startTestControlPlane } from '@shellwego/testkit';
import { dialects } from '@shellwego/testkit/vitest';
import { startControlPlane } from '../../main.js';

/**
 * The rollout controller against nodes simulated over the real node protocol (HTTP): they read their desired
 * state and report instances as a real agent would. The agent itself is exercised in the agent package.
 */
interface Node {
  id: string;
  credential: string;
}
interface Instance {
  id: string;
  node_id: string;
  routed: boolean;
}

const resources = {
  memory_total_bytes: 8 * 1024 ** 3,
  memory_used_bytes: 0,
  cpu_milli_total: 4000,
  cpu_milli_used: 0,
  disk_total_bytes: 10 * 1024 ** 3,
  disk_used_bytes: 0,
  instance_count: 0,
};

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function cluster(url: () => string, token: string) {
  const api = (method: string, path: string, body?: unknown) =>
    request(url(), method, path, { token, ...(body === undefined ? {} : { body }) });
  return {
    api,
    async join(name: string, zone: string): Promise<Node> {
      const jt = (await api('POST', '/v1/nodes/join-tokens', { zone })).body as { token: string };
      const reg = await request(url(), 'POST', '/v1/nodes/register', {
        body: {
          join_token: jt.token,
          name,
          runtimes: ['container'],
          capacity: { memory_bytes: 8 * 1024 ** 3, cpu_milli: 4000, disk_bytes: 10 * 1024 ** 3 },
        },
      });
      const body = reg.body as { node_id: string; credential: string };
      return { id: body.node_id, credential: body.credential };
    },
    /** What a healthy agent does: run everything it is asked to, at 10.0.<n>.<k>. */
    async runDesired(node: Node, net: number): Promise<string[]> {
      const desired = (await request(url(), 'GET', `/v1/nodes/${node.id}/watch`, { token: node.credential }))
        .body as { instances: { id: string }[] };
      const instances = desired.instances.map((i, k) => ({
        id: i.id,
        state: 'running' as const,
        health: 'healthy' as const,
        address: `10.0.${net}.${k + 2}`,
      }));
      await request(url(), 'POST', `/v1/nodes/${node.id}/status`, {
        token: node.credential,
        body: { instances, resources },
      });
      return instances.map((i) => i.id);
    },
    async instances(app: string): Promise<Instance[]> {
      return ((await api('GET', `/v1/apps/${app}`)).body as { instances: Instance[] }).instances;
    },
    async deployment(id: string): Promise<{ status: string; reason: string | null }> {
      return (await api('GET', `/v1/deployments/${id}`)).body as { status: string; reason: string | null };
    },
  };
}

describe.each(dialects)('rollouts with simulated nodes on $name', ({ databaseUrl }) => {
  it('keeps an app with a volume on the node that holds its data, and says so when that node is gone', async () => {
    const url = await databaseUrl();
    const cp = await startTestControlPlane(url ? { databaseUrl: url } : {});
    try {
      const c = cluster(() => cp.url, await cp.adminToken());
      const a = await c.join('node-va', 'zone-1');
      const b = await c.join('node-vb', 'zone-2');
      expect((await c.api('POST', '/v1/apps', { name: 'keeper', replicas: 2 })).status).toBe(201);
      const vol = await c.api('POST', '/v1/volumes', {
        name: 'keeper-data',
        size: '1g',
        app: 'keeper',
        mount_path: '/data',
      });
      expect(vol.body).toMatchObject({ node_id: null, status: 'pending' });
      const v1 = (await c.api('POST', '/v1/apps/keeper/deployments', { image: 'registry.test/keeper:v1' }))
        .body as { id: string };
      // Rolling, one at a time: the nodes run whatever they are given until the deployment is done.
      await until('v1 to succeed', async () => {
        await c.runDesired(a, 7);
        await c.runDesired(b, 8);
        return (await c.deployment(v1.id)).status === 'succeeded' ? true : undefined;
      });
      const both = await c.instances('keeper');
      // Spread across zones would split them; the volume keeps both where its data is.
      const homeId = both[0]?.node_id ?? '';
      expect(both.map((i) => i.node_id)).toEqual([homeId, homeId]);
      expect((await c.api('GET', '/v1/volumes/keeper-data')).body).toMatchObject({ node_id: homeId });

      // The home node goes silent: the app cannot move without its data, and a deploy says why.
      await cp.controlPlane.store.db
        .updateTable('nodes')
        .set({ last_heartbeat_at: new Date(Date.now() - 40_000).toISOString() })
        .where('id', '=', homeId)
        .execute();
      expect(await cp.controlPlane.services.nodeProtocol.markUnreachable(new Date())).toEqual([homeId]);
      const v2 = (await c.api('POST', '/v1/apps/keeper/deployments', { image: 'registry.test/keeper:v2' }))
        .body as { id: string };
      const failed = await until('the deploy to fail', async () => {
        const d = await c.deployment(v2.id);
        return ['failed', 'rolled_back'].includes(d.status) ? d : undefined;
      });
      expect(failed.reason).toMatch(
        /cannot place the instances: volume keeper-data holds its data on node node-v[ab], which is unreachable/,
      );
      expect((await c.instances('keeper')).every((i) => i.node_id === homeId)).toBe(true);
    } finally {
      await cp.close();
    }
  });

  it('moves the instances of an unreachable node elsewhere and stops routing to them at once', async () => {
    const url = await databaseUrl();
    const cp = await startTestControlPlane(url ? { databaseUrl: url } : {});
    try {
      const c = cluster(() => cp.url, await cp.adminToken());
      const a = await c.join('node-a', 'zone-1');
      const b = await c.join('node-b', 'zone-2');
      await c.api('POST', '/v1/apps', { name: 'moving', image: 'registry.test/moving:v1' });
      const first = await until('a placement', async () => {
        const [i] = await c.instances('moving');
        return i;
      });
      const [home, other] = first.node_id === a.id ? [a, b] : [b, a];
      await c.runDesired(home, 1);
      await until('routed', async () => ((await c.instances('moving'))[0]?.routed ? true : undefined));

      // The home node falls silent for longer than 30 s: the liveness sweep marks it unreachable.
      await cp.controlPlane.store.db
        .updateTable('nodes')
        .set({ last_heartbeat_at: new Date(Date.now() - 40_000).toISOString() })
        .where('id', '=', home.id)
        .execute();
      expect(await cp.controlPlane.services.nodeProtocol.markUnreachable(new Date())).toEqual([home.id]);
      const routes = async () =>
        (
          (await c.api('GET', '/v1/edge/routes')).body as {
            routes: { hostname: string; upstreams: { id: string }[] }[];
          }
        ).routes.find((r) => r.hostname === 'moving.localhost')?.upstreams ?? [];
      await until('the lost instance unrouted', async () =>
        (await routes()).length === 0 ? true : undefined,
      );
      const replacement = await until('a replacement on the other node', async () =>
        (await c.instances('moving')).find((i) => i.node_id === other.id),
      );
      await c.runDesired(other, 2);
      await until('the replacement routed', async () =>
        (await routes()).map((u) => u.id).join() === replacement.id ? true : undefined,
      );
      // The lost node no longer has it in its desired state: if it comes back, its agent stops it.
      const desired = (await request(cp.url, 'GET', `/v1/nodes/${home.id}/watch`, { token: home.credential }))
        .body as { instances: unknown[] };
      expect(desired.instances).toEqual([]);
    } finally {
      await cp.close();
    }
  });

  it('resumes a deployment after a control-plane restart, and fails one that cannot be placed', async () => {
    const url = await databaseUrl();
    const dataDir = await makeTempDir('swg-rollout-');
    const cp = await startTestControlPlane({ dataDir, ...(url ? { databaseUrl: url } : {}) });
    let second: Awaited<ReturnType<typeof startControlPlane>> | undefined;
    try {
      let base = cp.url;
      const c = cluster(() => base, await cp.adminToken());
      const node = await c.join('node-r', 'zone-1');
      await c.api('POST', '/v1/apps', { name: 'resumed', image: 'registry.test/resumed:v1' });
      const [dep] = ((await c.api('GET', '/v1/apps/resumed/deployments')).body as { items: { id: string }[] })
        .items;
      await until('a placement', async () => (await c.instances('resumed'))[0]);
      await cp.controlPlane.close();
      // A new control plane on the same store: the deployment is picked up where it was, not left pending.
      second = await startControlPlane(
        {
          port: 0,
          host: '127.0.0.1',
          logLevel: 'silent',
          rateLimit: null,
          dataDir,
          ...(url ? { databaseUrl: url } : {}),
        },
        { rollout: { sweepMs: 300, drainMs: 300 } },
      );
      base = second.url;
      await c.runDesired(node, 3);
      await until('the deployment to succeed', async () =>
        (await c.deployment(dep?.id ?? '')).status === 'succeeded' ? true : undefined,
      );

      // 64 GiB fits on no node: the deployment fails at once and says what is missing where.
      const big = (await c.api('POST', '/v1/apps/resumed/deployments', { resources: { memory: '64g' } }))
        .body as {
        id: string;
      };
      const failed = await until('the failure', async () => {
        const d = await c.deployment(big.id);
        return d.status === 'rolled_back' ? d : undefined;
      });
      expect(failed.reason).toBe(
        'cannot place the instances: needs 64 GiB of memory; the largest free is 7.75 GiB on node-r',
      );
    } finally {
      await second?.close();
      await removeDir(dataDir);
    }
  });
});

// Several control planes share only PostgreSQL (one SQLite file has one process).
describe('the leader lease on postgres', () => {
  const postgres = dialects[1];
  it('with two control planes on one database, one leads the rollouts and the other takes over when it stops', async () => {
    const url = await postgres.databaseUrl();
    const dataDir = await makeTempDir('swg-leader-');
    const options = {
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent' as const,
      rateLimit: null,
      dataDir,
      databaseUrl: url,
    };
    const injected = { rollout: { sweepMs: 300, drainMs: 300 }, leaseCheckMs: 200 };
    const first = await startControlPlane(options, injected);
    const second = await startControlPlane(options, injected);
    try {
      const leading = () => [first, second].map((cp) => cp.services.deps.isLeader?.() ?? true);
      expect(leading()).toEqual([true, false]);
      const admin = first.firstAdmin;
      if (!admin) throw new Error('no first admin');
      const login = await request(second.url, 'POST', '/v1/auth/login', {
        body: { email: admin.email, password: admin.password },
      });
      // Everything through the follower: it serves the API; the leader acts on what lands in the store.
      const c = cluster(() => second.url, (login.body as { access_token: string }).access_token);
      const node = await c.join('node-l', 'zone-1');
      await c.api('POST', '/v1/apps', { name: 'led', image: 'registry.test/led:v1' });
      const deployed = async (id: string): Promise<void> => {
        await until('the deployment to succeed', async () => {
          await c.runDesired(node, 5);
          return (await c.deployment(id)).status === 'succeeded' ? true : undefined;
        });
      };
      const [v1] = ((await c.api('GET', '/v1/apps/led/deployments')).body as { items: { id: string }[] })
        .items;
      await deployed(v1?.id ?? '');

      await first.close();
      await until(
        'the other control plane to lead',
        () => Promise.resolve(leading()[1] ? true : undefined),
        5_000,
      );
      const v2 = (await c.api('POST', '/v1/apps/led/deployments', { image: 'registry.test/led:v2' }))
        .body as {
        id: string;
      };
      await deployed(v2.id);
    } finally {
      await first.close().catch(() => undefined);
      await second.close();
      await removeDir(dataDir);
    }
  });
});
