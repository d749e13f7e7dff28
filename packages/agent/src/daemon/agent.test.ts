import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startControlPlane } from '@shellwego/control-plane';
import type { ControlPlane } from '@shellwego/control-plane';
import { RuncDriver } from '@shellwego/driver-runc';
import { makeTempDir, removeDir, request, startTestControlPlane } from '@shellwego/testkit';
import { Agent } from './agent.js';

interface NodeView {
  id: string;
  name: string;
  status: string;
  runtimes: string[];
  capacity: { memory_bytes: number; cpu_milli: number; disk_bytes: number };
  last_heartbeat_at: string | null;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('agent daemon (node protocol)', () => {
  it('registers once, reports, heartbeats and reconnects to a restarted control plane', async () => {
    const cpDir = await makeTempDir('swg-agent-cp-');
    const agentDir = await makeTempDir('swg-agent-');
    cleanups.push(
      () => removeDir(cpDir),
      () => removeDir(agentDir),
    );
    const cp = await startTestControlPlane({ dataDir: cpDir });
    const later: { cp2?: ControlPlane } = {};
    cleanups.push(async () => {
      await cp.close();
      await later.cp2?.close();
    });
    const admin = await cp.adminToken();
    const jt = await request(cp.url, 'POST', '/v1/nodes/join-tokens', { token: admin, body: {} });
    expect(jt.status).toBe(201);
    const token = (jt.body as { token: string }).token;

    const config = {
      url: cp.url,
      joinToken: token,
      dataDir: agentDir,
      name: 'agent-test-1',
      heartbeatMs: 200,
      reconcileMs: 200,
      backoff: { initialMs: 100, maxMs: 500 },
      metricsPort: 0,
    };
    const nodes = async (tok: string, url = cp.url): Promise<NodeView[]> =>
      ((await request(url, 'GET', '/v1/nodes', { token: tok })).body as { items: NodeView[] }).items;

    const agent = await Agent.start({ config, drivers: { container: new RuncDriver() } });
    cleanups.push(() => agent.stop());
    const nodeId = agent.state().nodeId;
    expect((await stat(join(agentDir, 'node.json'))).mode & 0o777).toBe(0o600);
    await until('the watch', () => (agent.state().revision !== null ? true : undefined));
    expect(agent.state()).toMatchObject({ connected: true, watchConnects: 1, revision: 0 });
    await until('a status report', () => agent.state().lastReportAt ?? undefined);

    const listed = await nodes(admin);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id: nodeId,
      name: 'agent-test-1',
      status: 'ready',
      runtimes: ['container'],
    });
    expect(listed[0]?.capacity.memory_bytes).toBeGreaterThan(0);
    expect(listed[0]?.capacity.cpu_milli).toBeGreaterThanOrEqual(1000);
    expect(listed[0]?.capacity.disk_bytes).toBeGreaterThan(0);
    const firstBeat = Date.parse(listed[0]?.last_heartbeat_at ?? '');
    await until('a later heartbeat', async () => {
      const beat = Date.parse((await nodes(admin))[0]?.last_heartbeat_at ?? '');
      return beat > firstBeat ? beat : undefined;
    });

    // A restart on the same data dir reuses the credential: no second node, even without the join token. This one
    // shares its CPUs four times over, and the node's capacity says so.
    await agent.stop();
    const { joinToken: _unused, ...withoutToken } = config;
    const again = await Agent.start({
      config: { ...withoutToken, cpuOvercommit: 4 },
      drivers: { container: new RuncDriver() },
    });
    cleanups.push(() => again.stop());
    expect(again.state().nodeId).toBe(nodeId);
    await until('the watch again', () => (again.state().connected ? true : undefined));
    expect(await nodes(admin)).toHaveLength(1);
    const realCpu = listed[0]?.capacity.cpu_milli ?? 0;
    await until('the overcommitted capacity', async () =>
      (await nodes(admin))[0]?.capacity.cpu_milli === 4 * realCpu ? true : undefined,
    );

    // The control plane goes away and comes back on the same data dir and port: the watch reopens.
    const port = new URL(cp.url).port;
    await cp.controlPlane.close();
    await until('the watch to drop', () => (again.state().connected ? undefined : true));
    const cp2 = (later.cp2 = await startControlPlane({
      dataDir: cpDir,
      host: '127.0.0.1',
      port: Number(port),
      logLevel: 'silent',
      rateLimit: null,
    }));
    const t0 = Date.now();
    await until('the watch to reopen', () => (again.state().watchConnects >= 2 ? true : undefined));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(again.state().connected).toBe(true);

    const login = await request(cp2.url, 'POST', '/v1/auth/login', {
      body: { email: cp.admin.email, password: cp.admin.password },
    });
    const admin2 = (login.body as { access_token: string }).access_token;
    const before = Date.parse((await nodes(admin2, cp2.url))[0]?.last_heartbeat_at ?? '');
    await until('a heartbeat to the new control plane', async () => {
      const n = (await nodes(admin2, cp2.url))[0];
      return n && n.status === 'ready' && Date.parse(n.last_heartbeat_at ?? '') > before ? n : undefined;
    });
    expect(await nodes(admin2, cp2.url)).toHaveLength(1);
    await again.stop();
  });

  it('refuses to start unregistered without a join token', async () => {
    const dir = await makeTempDir('swg-agent-');
    cleanups.push(() => removeDir(dir));
    await expect(
      Agent.start({
        config: { url: 'http://127.0.0.1:9', dataDir: dir, name: 'x', metricsPort: null },
        drivers: { container: new RuncDriver() },
      }),
    ).rejects.toThrow(/not registered yet/);
  });
});
