import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { RuncDriver } from '@shellwego/driver-runc';
import type { InstanceSpec } from '@shellwego/driver-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthMonitor, type HealthChange } from '../health/health-monitor.js';
import { ip } from '../network/exec.js';
import { ownedBy } from '../network/test-net.js';
import { plan, type DesiredInstance } from '../reconciler/plan.js';
import type { SpecResolver } from '../resolve/resolver.js';
import { InstanceStore } from '../state/instance-store.js';
import { DriverSet } from './driver-set.js';
import { Executor, type ExecutorOptions } from './executor.js';
import { filesContaining } from './test-disk.js';
import { makeExecutorTestEnv, type ExecutorTestEnv } from './test-executor-env.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET / from the host, after the guard that the route to `addr` leaves through the test's own bridge. */
async function getFromHost(bridge: string, addr: string, port: number): Promise<string> {
  const route = await ip('route', 'get', addr);
  if (!new RegExp(`\\bdev ${bridge}\\b`).test(route))
    throw new Error(`refusing to send to ${addr}: route is ${route.trim()}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: addr, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${addr}:${port}`)));
    req.on('error', reject);
    req.end();
  });
}

/** A runc driver that counts starts, to see whether a crash loop spins. */
class CountingDriver extends RuncDriver {
  starts = 0;
  override start(spec: InstanceSpec): ReturnType<RuncDriver['start']> {
    this.starts++;
    return super.start(spec);
  }
}

// Needs root for runc, mounts, namespaces and bridges: CI runs as root, so this never skips there (STYLE.md §8).
describe.skipIf(!isRoot)('Executor with runc and a real network (needs root)', () => {
  let env: ExecutorTestEnv;
  const driver = new RuncDriver();
  const executor = async (over: Partial<ExecutorOptions> = {}): Promise<Executor> =>
    new Executor({
      drivers: new DriverSet({ container: driver }),
      network: await env.openNetwork(),
      resolver: env.resolver,
      stateDir: env.agentStateDir,
      graceMs: 300,
      ...over,
    });
  let web: DesiredInstance;
  // Unique per run, so finding it on disk can only mean this test's instance leaked it.
  const secret = `s3cret-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    env = await makeExecutorTestEnv();
    web = {
      instanceId: env.instanceId('web'),
      spec: env.wire('web', env.images.web, {
        secrets: { API_TOKEN: secret },
        secret_versions: { API_TOKEN: 1 },
      }),
    };
  });
  afterAll(async () => {
    await env.cleanup();
    expect(await ownedBy(env.prefix)).toEqual({ links: [], namespaces: [] });
  });

  it('pulls the image of a wire spec, starts it, and it answers HTTP on its address and turns healthy', async () => {
    const progress: (string | undefined)[] = [];
    const exec: Executor = await executor({ onProgress: (id) => progress.push(exec.progress(id)) });
    const results = await exec.apply(plan([web], await exec.actual()));
    expect(results.map((r) => [r.action.kind, r.outcome])).toEqual([['create', 'done']]);
    // The pull is announced, then its bytes (the last report is the whole image), then nothing once started.
    const ref = env.images.web.reference;
    expect(progress[0]).toBe(`pulling ${ref}`);
    expect(progress.at(-1)).toBeUndefined();
    const bytes = progress.slice(1, -1);
    expect(bytes.length).toBeGreaterThan(0);
    for (const p of bytes) {
      expect(p?.startsWith(`pulling ${ref}: `)).toBe(true);
      expect(p).toMatch(/: [\d.]+ of [\d.]+ MiB$/);
    }
    expect(bytes.at(-1)).toMatch(/: ([\d.]+) of \1 MiB$/);
    const net = await exec.networkOf(web.instanceId);
    if (net === null) throw new Error('no network recorded');
    expect(await getFromHost(env.bridge, net.ip, 8080)).toBe('200 hello from busybox\n');

    const monitor = new HealthMonitor(web.instanceId, net.ip, {
      kind: 'http',
      port: 8080,
      path: '/',
      intervalMs: 100,
      timeoutMs: 1000,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    const healthy = new Promise<HealthChange>((r) => monitor.once('change', r));
    monitor.start();
    try {
      expect(await healthy).toMatchObject({ status: 'healthy', previous: 'unknown' });
    } finally {
      monitor.stop();
    }
    expect(plan([web], await exec.actual())).toEqual([]); // converged
  });

  it('passes the secret to the instance and writes it nowhere on disk', async () => {
    const record = await new InstanceStore(env.agentStateDir).get(web.instanceId);
    if (record === undefined) throw new Error('no record saved');
    expect(record.spec).toMatchObject({ secret_versions: { API_TOKEN: 1 } });
    expect(record.spec).not.toHaveProperty('secrets');
    const { pid } = await driver.inspect(record.handle);
    const environ = await readFile(`/proc/${String(pid)}/environ`, 'utf8');
    expect(environ.split('\0')).toContain(`API_TOKEN=${secret}`);
    expect(environ.split('\0')).toContain('PORT=8080');
    // The whole data dir: records, leases, images, runtime state and logs; the memory-backed bundle aside.
    expect(await filesContaining(env.agentStateDir, secret)).toEqual([]);
  });

  it('re-adopts the running instance after an agent restart, same process', async () => {
    const record = await new InstanceStore(env.agentStateDir).get(web.instanceId);
    if (record === undefined) throw new Error('no record saved');
    const before = await driver.inspect(record.handle);
    expect(before.state).toBe('running');

    const restarted = await executor(); // a new agent: fresh driver state, same state dir
    expect(await restarted.recoverAll()).toEqual({ adopted: [web.instanceId], lost: [] });
    expect((await driver.inspect(record.handle)).pid).toBe(before.pid);
    expect(plan([web], await restarted.actual())).toEqual([]);
  });

  it('restarts an instance that vanished while the agent was away', async () => {
    // What a reboot does: the container is gone, the agent's record and lease remain.
    await env.deleteContainer(web.instanceId);
    const restarted = await executor();
    expect(await restarted.recoverAll()).toEqual({ adopted: [], lost: [web.instanceId] });
    const actions = plan([web], await restarted.actual());
    expect(actions.map((a) => a.kind)).toEqual(['restart']);
    expect((await restarted.apply(actions)).map((r) => r.outcome)).toEqual(['done']);
    const net = await restarted.networkOf(web.instanceId);
    if (net === null) throw new Error('no network recorded');
    expect(await getFromHost(env.bridge, net.ip, 8080)).toBe('200 hello from busybox\n');
  });

  it('stops an undesired instance and leaves no record, namespace, mount or container', async () => {
    const exec = await executor();
    const results = await exec.apply(plan([], await exec.actual()));
    expect(results.map((r) => [r.action.kind, r.outcome])).toEqual([['stop', 'done']]);
    expect(await new InstanceStore(env.agentStateDir).load()).toEqual([]);
    expect(await ownedBy(env.prefix)).toEqual({ links: [env.bridge], namespaces: [] });
    expect(await env.mounts()).toEqual([]);
    expect(await env.runcContainers()).toEqual([]);
  });

  it('undoes the network of a create that fails and keeps no record', async () => {
    // The driver fails after the network is up: its overlay has no image tree to mount.
    const noTree: SpecResolver = {
      resolve: async (...args) => ({
        ...(await env.resolver.resolve(...args)),
        rootfs: `${env.dir}/no-such-image`,
      }),
    };
    const exec = await executor({ resolver: noTree });
    const bad = { instanceId: env.instanceId('bad'), spec: env.wire('bad', env.images.web) };
    const results = await exec.apply([{ kind: 'create', ...bad }]);
    expect(results[0]?.outcome).toBe('failed');
    expect(await new InstanceStore(env.agentStateDir).load()).toEqual([]);
    expect((await ownedBy(env.prefix)).namespaces).toEqual([]);
    expect((await env.openNetwork()).leases()).toEqual({});
    expect(exec.condition(bad.instanceId)).toMatchObject({ failures: 1, status: 'backoff' });
  });

  it('backs off a crash-looping instance instead of spinning, and flags the crash loop', async () => {
    const counting = new CountingDriver();
    const exec = await executor({
      drivers: new DriverSet({ container: counting }),
      backoff: { initialMs: 400, maxMs: 60_000 },
      crashLoop: { starts: 3, windowMs: 60_000 },
    });
    const crash: DesiredInstance = {
      instanceId: env.instanceId('crash'),
      spec: env.wire('crash', env.images.crash),
      restartPolicy: 'always',
    };
    const outcomes: string[] = [];
    try {
      // A reconcile loop far faster than the agent's 10 s, so only the backoff keeps it from spinning.
      // It runs until the crash loop is flagged (3 starts), however slow runc is on a busy machine.
      const end = Date.now() + 30_000;
      while (Date.now() < end && exec.condition(crash.instanceId).status !== 'crash-loop') {
        for (const r of await exec.apply(plan([crash], await exec.actual()))) outcomes.push(r.outcome);
        await sleep(50);
      }
      // Without backoff every pass would start it again; with it, most passes are deferred.
      const deferred = outcomes.filter((o) => o === 'deferred').length;
      expect(counting.starts).toBeGreaterThanOrEqual(3);
      expect(deferred).toBeGreaterThan(counting.starts * 3);
      expect(exec.condition(crash.instanceId).status).toBe('crash-loop');
    } finally {
      await exec.apply(plan([], await exec.actual()));
    }
    expect(await new InstanceStore(env.agentStateDir).load()).toEqual([]);
    expect((await ownedBy(env.prefix)).namespaces).toEqual([]);
  });
});
