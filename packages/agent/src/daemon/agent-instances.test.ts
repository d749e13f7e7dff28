import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DesiredInstanceWire, InstanceWireSpec, NodeInstanceStatus } from '@shellwego/core';
import {
  makeTempDir,
  registerRuncExitCleanup,
  removeDir,
  startRegistry,
  type RegistryServer,
} from '@shellwego/testkit';
import { pushBusyboxImage, type BusyboxImage } from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesContaining } from '../executor/test-disk.js';
import { ip } from '../network/exec.js';
import { readNeighbourLimits } from '../network/neighbour-table.js';
import { ownedBy, registerExitCleanup, uniquePrefix } from '../network/test-net.js';
import type { Agent } from './agent.js';
import { startFakeControlPlane, type FakeControlPlane } from './test-control-plane.js';
import { removeRuncAgent, startRuncAgent, wireSpec } from './test-agent.js';

const isRoot = process.getuid?.() === 0;

/** GET / from the host, after the guard that the route to `addr` leaves through the test's own bridge. */
async function getFromHost(bridge: string, addr: string, port: number): Promise<string> {
  const route = await ip('route', 'get', addr);
  if (!new RegExp(`\\bdev ${bridge}\\b`).test(route))
    throw new Error(`refusing to send to ${addr}: route is ${route.trim()}`);
  const res = await fetch(`http://${addr}:${String(port)}/`, { signal: AbortSignal.timeout(2000) });
  return `${String(res.status)} ${await res.text()}`;
}

// Needs root for runc, mounts, namespaces and bridges: CI runs as root, so this never skips there (STYLE.md §8).
describe.skipIf(!isRoot)('agent running instances from wire specs (needs root)', () => {
  let dir: string;
  let prefix: string;
  let registry: RegistryServer | undefined;
  let cp: FakeControlPlane | undefined;
  let agent: Agent | undefined;
  let images: { web: BusyboxImage; crash: BusyboxImage; talker: BusyboxImage };
  const cancels: (() => void)[] = [];
  const secret = `s3cret-${randomBytes(12).toString('hex')}`;

  const wire = (name: string, image: BusyboxImage, over: Partial<InstanceWireSpec> = {}): InstanceWireSpec =>
    wireSpec(name, image, { env: { GREETING: 'hi' }, ...over });
  const desired = (name: string, spec: InstanceWireSpec, over: Partial<DesiredInstanceWire> = {}) => ({
    id: `${prefix}-${name}`,
    app_id: spec.app_id,
    restart_policy: 'always' as const,
    spec,
    ...over,
  });
  const find =
    (id: string, pred: (s: NodeInstanceStatus) => boolean) => (r: { instances: NodeInstanceStatus[] }) =>
      r.instances.find((s) => s.id === id && pred(s));

  beforeAll(async () => {
    dir = await makeTempDir('swg-agent-run-');
    prefix = await uniquePrefix();
    const runcRoot = join(dir, 'agent', 'runtime', 'runc');
    cancels.push(registerExitCleanup(prefix), registerRuncExitCleanup(dir, runcRoot));
    registry = await startRegistry();
    images = {
      web: await pushBusyboxImage(registry.host, 'test/web', {
        cmd: ['/bin/sh', '-c', 'exec httpd -f -p "$PORT" -h /www'],
        files: { 'www/index.html': 'hello from busybox\n' },
      }),
      crash: await pushBusyboxImage(registry.host, 'test/crash', {
        cmd: ['/bin/sh', '-c', 'echo "boom: $GREETING"; exit 3'],
      }),
      // Serves its health check (httpd without -f goes to the background) and writes a line every second.
      talker: await pushBusyboxImage(registry.host, 'test/talker', {
        cmd: [
          '/bin/sh',
          '-c',
          'httpd -p "$PORT" -h /www; echo "early 1"; echo "early 2"; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done',
        ],
        files: { 'www/index.html': 'ok\n' },
      }),
    };
    cp = await startFakeControlPlane();
    agent = await startRuncAgent({ dir, prefix, cp, name: 'agent-run' });
  });

  afterAll(async () => {
    await removeRuncAgent(agent, dir, prefix);
    await cp?.close();
    await registry?.stop();
    await removeDir(dir);
    for (const cancel of cancels) cancel();
  });

  it('pulls, starts, reports healthy at its address, and keeps the secret off the disk', async () => {
    const web = desired(
      'web',
      wire('web', images.web, { secrets: { API_TOKEN: secret }, secret_versions: { API_TOKEN: 1 } }),
    );
    cp?.setDesired([web]);
    const pulling = await cp?.waitForReport(
      'a pulling report',
      find(web.id, (s) => s.state === 'pending'),
    );
    expect(pulling).toMatchObject({ app_id: web.app_id, message: `pulling ${images.web.reference}` });

    const healthy = await cp?.waitForReport(
      'healthy',
      find(web.id, (s) => s.health === 'healthy'),
    );
    expect(healthy).toMatchObject({ state: 'running', app_id: web.app_id });
    const address = healthy?.address ?? '';
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await getFromHost(`${prefix}br`, address, 8080)).toBe('200 hello from busybox\n');
    // The node network made room in the kernel's ARP cache for every address of its /24, on both sides.
    expect((await readNeighbourLimits()).gc_thresh2).toBeGreaterThanOrEqual(2 * 253 + 1024);
    expect(await filesContaining(join(dir, 'agent'), secret)).toEqual([]);
    // The scan does read the records: the stored spec is there, with the secret's version.
    expect(await filesContaining(join(dir, 'agent'), '"API_TOKEN": 1')).not.toEqual([]);
  });

  it('reports an instance whose start fails as failed, with the reason, not as pending', async () => {
    const missing = `${registry?.host ?? ''}/test/missing@sha256:${'0'.repeat(64)}`;
    const bad = desired('bad', { ...wire('bad', images.web), image: missing });
    cp?.setDesired([bad]);
    const failed = await cp?.waitForReport(
      'the failed start',
      find(bad.id, (s) => s.state === 'failed'),
    );
    expect(failed?.message).toMatch(/^start failed: /);
    expect(failed?.app_id).toBe(bad.app_id);
  });

  it('reports a failing health check and an exited instance with their last output', async () => {
    const web = desired(
      'web',
      wire('web', images.web, { secrets: { API_TOKEN: secret }, secret_versions: { API_TOKEN: 1 } }),
    );
    const sick = desired(
      'sick',
      wire('sick', images.web, { health_check: { path: '/nope', interval_ms: 100, timeout_ms: 500 } }),
    );
    const crash = desired('crash', wire('crash', images.crash), { restart_policy: 'never' });
    cp?.setDesired([web, sick, crash]);
    const unhealthy = await cp?.waitForReport(
      'unhealthy',
      find(sick.id, (s) => s.health === 'unhealthy'),
    );
    expect(unhealthy?.message).toMatch(/health check failing: GET \/nope answered 404/);
    const failed = await cp?.waitForReport(
      'an exit',
      find(crash.id, (s) => s.state === 'failed'),
    );
    expect(failed).toMatchObject({ exit_code: 3 });
    expect(failed?.message).toMatch(/last output:\nboom: hi/);
  });

  it('serves metrics', async () => {
    const port = agent?.state().metricsPort;
    expect(port).toBeGreaterThan(0);
    const text = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
    expect(text).toMatch(/^shellwego_agent_instances\{state="running"\} [1-9]/m);
    expect(text).toMatch(/^shellwego_agent_actions_total\{kind="create",outcome="done"\} [1-9]/m);
    expect(text).toMatch(/^shellwego_agent_reconcile_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^shellwego_node_memory_pressure \d/m);
    expect(text).toMatch(/^shellwego_microvm_spawn_duration_seconds_count [1-9]/m);
  });

  it('answers log requests over a socket it dials back: the tail, then followed lines; 4404 for no such instance', async () => {
    const web = desired(
      'web',
      wire('web', images.web, { secrets: { API_TOKEN: secret }, secret_versions: { API_TOKEN: 1 } }),
    );
    const talker = desired('talker', wire('talker', images.talker));
    cp?.setDesired([web, talker]);
    await cp?.waitForReport(
      'the talker running',
      find(talker.id, (s) => s.state === 'running'),
    );
    const tickOf = (line: string): number => Number(/^tick (\d+)$/.exec(line)?.[1] ?? 0);
    const first = cp!.requestLogs(talker.id, { follow: false, tail: 100 });
    expect((await first.closed).code).toBe(1000);
    expect(first.lines.slice(0, 2).map((l) => l.line)).toEqual(['early 1', 'early 2']);
    expect(first.lines.every((l) => l.instance_id === talker.id && l.stream === 'stdout')).toBe(true);
    expect(Date.parse(first.lines[0]?.at ?? '')).toBeGreaterThan(0);
    // A couple of ticks later, a short tail is the last two of them.
    await new Promise((r) => setTimeout(r, 2500));

    const short = cp!.requestLogs(talker.id, { follow: false, tail: 2 });
    expect((await short.closed).code).toBe(1000);
    expect(short.lines).toHaveLength(2);
    const [a, b] = short.lines.map((l) => tickOf(l.line));
    expect(a).toBeGreaterThan(0);
    expect(b).toBe((a ?? 0) + 1);

    const live = cp!.requestLogs(talker.id, { follow: true, tail: 1 });
    const last = await live.waitForLine(() => true);
    const later = await live.waitForLine((l) => tickOf(l.line) > tickOf(last.line), 5000);
    expect(tickOf(later.line)).toBe(tickOf(last.line) + 1);
    // Each line once: the tail is not sent again by the follow.
    const ticks = live.lines.map((l) => tickOf(l.line));
    expect(new Set(ticks).size).toBe(ticks.length);
    live.close();
    expect((await live.closed).code).toBe(1000);

    const unknown = cp!.requestLogs('ins_nope', { follow: true });
    expect((await unknown.closed).code).toBe(4404);
    // The agent is still at work afterwards.
    await cp?.waitForReport(
      'another report',
      find(talker.id, (s) => s.state === 'running'),
    );
  });

  it('stops what is no longer desired and leaves no namespace behind', async () => {
    cp?.setDesired([]);
    // httpd as PID 1 ignores SIGTERM: the stops take the agent's 10 s grace before SIGKILL.
    await cp?.waitForReport('an empty report', (r) => (r.instances.length === 0 ? true : undefined), 40_000);
    expect((await ownedBy(prefix)).namespaces).toEqual([]);
  });
});
