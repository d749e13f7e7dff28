import { join } from 'node:path';
import { RuncDriver } from '@shellwego/driver-runc';
import {
  makeTempDir,
  mountsUnder,
  registerRuncExitCleanup,
  removeDir,
  request,
  startRegistry,
  startTestControlPlane,
  type RegistryServer,
  type TestControlPlane,
} from '@shellwego/testkit';
import { pushBusyboxImage, type BusyboxImage } from '@shellwego/testkit';
import { dialects } from '@shellwego/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, run } from '../network/exec.js';
import { freeSubnet, registerExitCleanup, removeOwned, uniquePrefix } from '../network/test-net.js';
import { Agent } from './agent.js';

const isRoot = process.getuid?.() === 0;

interface InstanceView {
  id: string;
  node_id: string;
  release: number;
  state: string;
  health: string;
  routed: boolean;
  address: string | null;
}
interface AppView {
  status: string;
  release: { version: number } | null;
  instances: InstanceView[];
}
interface DeploymentView {
  id: string;
  status: string;
  reason: string | null;
  release: number;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e instanceof Error ? e : new Error(String(e));
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** busybox httpd that exits on SIGTERM (as PID 1 it would ignore it) and serves `page` at / and /health. */
function webImage(registry: string, repo: string, page: string, healthy = true): Promise<BusyboxImage> {
  return pushBusyboxImage(registry, repo, {
    cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & wait'],
    files: { 'www/index.html': page, ...(healthy ? { 'www/health': 'ok\n' } : {}) },
  });
}

// Needs root for runc, namespaces and bridges: CI runs as root, so this never skips there (STYLE.md §8).
describe.skipIf(!isRoot).each(dialects)(
  'deploys through a real agent on $name (needs root)',
  ({ databaseUrl }) => {
    let dir: string;
    let prefix: string;
    let registry: RegistryServer | undefined;
    let cp: TestControlPlane | undefined;
    let agent: Agent | undefined;
    let token: string;
    let bridge: string;
    let cidr: string;
    let joinToken = '';
    const cancels: (() => void)[] = [];
    const images: Record<'v1' | 'v2' | 'v3', BusyboxImage> = {} as never;
    const app = `web-${Math.random().toString(36).slice(2, 8)}`;

    const api = async (
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; body: unknown }> =>
      request(cp?.url ?? '', method, path, { token, ...(body === undefined ? {} : { body }) });
    const appView = async (): Promise<AppView> => (await api('GET', `/v1/apps/${app}`)).body as AppView;
    const finished = (id: string) => async (): Promise<DeploymentView | undefined> => {
      const d = (await api('GET', `/v1/deployments/${id}`)).body as DeploymentView;
      return ['succeeded', 'failed', 'rolled_back', 'cancelled'].includes(d.status) ? d : undefined;
    };
    /** GET from the host, after the guard that the route leaves through the test's own bridge. */
    const get = async (address: string, path = '/'): Promise<string> => {
      const host = address.split(':')[0] ?? '';
      if (!new RegExp(`\\bdev ${bridge}\\b`).test(await ip('route', 'get', host)))
        throw new Error(`refusing to send to ${host}: not our bridge`);
      const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(2000) });
      return `${res.status} ${await res.text()}`;
    };
    const runcRoot = (): string => join(dir, 'agent', 'runtime', 'runc');
    const pidOf = async (id: string): Promise<number> =>
      (JSON.parse(await run('runc', ['--root', runcRoot(), 'state', id])) as { pid: number }).pid;
    const startAgent = async (): Promise<Agent> =>
      Agent.start({
        config: {
          url: cp?.url ?? '',
          dataDir: join(dir, 'agent'),
          name: 'deploy-node',
          heartbeatMs: 1000,
          reconcileMs: 300,
          bridgeName: bridge,
          cidr,
          networkPrefix: prefix,
          metricsPort: null,
          // Joined once; later starts use the stored credential.
          ...(agent === undefined ? { joinToken: joinToken } : {}),
        },
        drivers: { container: new RuncDriver() },
      });

    beforeAll(async () => {
      dir = await makeTempDir('swg-deploy-');
      prefix = await uniquePrefix();
      bridge = `${prefix}br`;
      cidr = await freeSubnet();
      cancels.push(
        registerExitCleanup(prefix),
        registerRuncExitCleanup(dir, join(dir, 'agent', 'runtime', 'runc')),
      );
      registry = await startRegistry();
      images.v1 = await webImage(registry.host, 'e2e/web', 'v1\n');
      images.v2 = await webImage(registry.host, 'e2e/web', 'v2\n');
      images.v3 = await webImage(registry.host, 'e2e/web', 'v3\n', false);
      const url = await databaseUrl();
      // A v3 that never gets healthy fails after 5 s instead of the default 30 s.
      cp = await startTestControlPlane(url === undefined ? {} : { databaseUrl: url }, {
        rollout: { healthGraceMs: 5_000 },
      });
      token = await cp.adminToken();
      joinToken = ((await api('POST', '/v1/nodes/join-tokens', {})).body as { token: string }).token;
      agent = await startAgent();
    });

    afterAll(async () => {
      if (cp && token) await api('DELETE', `/v1/apps/${app}`).catch(() => undefined);
      await agent?.stop();
      const left = (await run('runc', ['--root', runcRoot(), 'list', '-q']).catch(() => '')).split('\n');
      for (const id of left.filter(Boolean))
        await run('runc', ['--root', runcRoot(), 'delete', '--force', id]);
      for (const m of (await mountsUnder(dir)).sort().reverse()) await run('umount', ['-l', m]);
      await removeOwned(prefix);
      await cp?.close();
      await registry?.stop();
      await removeDir(dir);
      for (const cancel of cancels) cancel();
    });

    it('deploys v1, then v2 without a failed request, then rolls back a v3 whose health check fails', async () => {
      const created = await api('POST', '/v1/apps', {
        name: app,
        image: images.v1.reference,
        resources: { memory: '64m', cpu: '0.25' },
        health_check: { path: '/health', interval: '1s', timeout: '1s' },
      });
      expect(created.status).toBe(201);
      const [first] = ((await api('GET', `/v1/apps/${app}/deployments`)).body as { items: DeploymentView[] })
        .items;
      expect(await until('v1 deployed', finished(first?.id ?? ''))).toMatchObject({ status: 'succeeded' });
      const v1 = await appView();
      expect(v1).toMatchObject({ status: 'running', release: { version: 1 } });
      expect(v1.instances).toHaveLength(1);
      expect(await get(v1.instances[0]?.address ?? '')).toBe('200 v1\n');

      // v2 under load: a client that follows the route table, as the edge does, never sees a failure.
      const dep2 = (await api('POST', `/v1/apps/${app}/deployments`, { image: images.v2.reference }))
        .body as DeploymentView;
      const seen = new Set<string>();
      const failures: string[] = [];
      let done: DeploymentView | undefined;
      while (!(done = await finished(dep2.id)())) {
        const table = (await api('GET', '/v1/edge/routes')).body as {
          routes: { app_name: string; upstreams: { address: string }[] }[];
        };
        for (const u of table.routes.find((r) => r.app_name === app)?.upstreams ?? []) {
          const answer = await get(u.address).catch((e: unknown) => String(e));
          if (answer.startsWith('200 ')) seen.add(answer);
          else failures.push(answer);
        }
      }
      expect(done.status).toBe('succeeded');
      expect(failures).toEqual([]);
      expect(seen.has('200 v2\n')).toBe(true);
      const v2 = await appView();
      expect(v2.release?.version).toBe(2);
      expect(v2.instances.map((i) => i.release)).toEqual([2]);
      const v2Address = v2.instances[0]?.address ?? '';
      expect(await get(v2Address)).toBe('200 v2\n');

      // v3 never answers /health: rolled back, with the check's output as the reason; v2 keeps serving.
      const dep3 = (await api('POST', `/v1/apps/${app}/deployments`, { image: images.v3.reference }))
        .body as DeploymentView;
      const failed = await until('v3 rolled back', finished(dep3.id), 90_000);
      expect(failed.status).toBe('rolled_back');
      expect(failed.reason).toMatch(/failed its health check.*\/health answered 404/);
      expect(await get(v2Address)).toBe('200 v2\n');
      await until('v3 gone', async () => ((await appView()).instances.length === 1 ? true : undefined));
      expect(await appView()).toMatchObject({ status: 'running', release: { version: 2 } });
    });

    it('scales to 3, replaces a container killed from outside, and re-adopts everything after an agent restart', async () => {
      expect((await api('PATCH', `/v1/apps/${app}`, { replicas: 3 })).status).toBe(200);
      const healthy3 = async (): Promise<InstanceView[] | undefined> => {
        const all = (await appView()).instances;
        return all.length === 3 && all.every((i) => i.health === 'healthy' && i.routed) ? all : undefined;
      };
      const three = await until('3 healthy instances', healthy3);
      expect(new Set(three.map((i) => i.address)).size).toBe(3);

      const victim = three[0]?.id ?? '';
      const pid = await pidOf(victim);
      await run('runc', ['--root', runcRoot(), 'kill', victim, 'KILL']);
      // Restarted by the agent or replaced by the control plane: either way, three serve again.
      await until('a replacement', async () => {
        const all = await healthy3();
        if (!all) return undefined;
        const again = all.find((i) => i.id === victim);
        if (again === undefined) return all;
        // runc reports pid 0 for a stopped container: wait for the new process.
        const now = await pidOf(victim).catch(() => 0);
        return now > 0 && now !== pid ? all : undefined;
      });

      const before = await healthy3();
      const pids = new Map<string, number>();
      for (const i of before ?? []) pids.set(i.id, await pidOf(i.id));
      await agent?.stop();
      agent = await startAgent();
      const restartedAt = Date.now();
      await until('the restarted agent to report', () =>
        Promise.resolve(agent?.state().lastReportAt ? true : undefined),
      );
      expect(Date.now() - restartedAt).toBeLessThan(2_000);
      for (const [id, p] of pids) expect(await pidOf(id)).toBe(p);
      // Health starts over with the new agent; the same three instances come back healthy, none restarted.
      const after = await until('health again', healthy3);
      expect(after.map((i) => i.id).sort()).toEqual([...pids.keys()].sort());
      for (const [id, p] of pids) expect(await pidOf(id)).toBe(p);
    });
  },
);
