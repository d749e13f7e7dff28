import { join } from 'node:path';
import type { NodeInstanceStatus } from '@shellwego/core';
import {
  makeTempDir,
  pushBusyboxImage,
  registerRuncExitCleanup,
  removeDir,
  startRegistry,
  type BusyboxImage,
  type RegistryServer,
} from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../daemon/agent.js';
import { startFakeControlPlane, type FakeControlPlane } from '../daemon/test-control-plane.js';
import { removeRuncAgent, startRuncAgent, wireSpec } from '../daemon/test-agent.js';
import { registerExitCleanup, uniquePrefix } from '../network/test-net.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Needs root for runc, mounts, namespaces and bridges: CI runs as root, so this never skips there (STYLE.md §8).
describe.skipIf(!isRoot)('instance usage through the agent (needs root)', () => {
  let dir: string;
  let prefix: string;
  let registry: RegistryServer | undefined;
  let cp: FakeControlPlane | undefined;
  let agent: Agent | undefined;
  let image: BusyboxImage;
  const cancels: (() => void)[] = [];

  const metricsText = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${String(agent?.state().metricsPort)}/metrics`)).text();

  beforeAll(async () => {
    dir = await makeTempDir('swg-agent-usage-');
    prefix = await uniquePrefix();
    cancels.push(
      registerExitCleanup(prefix),
      registerRuncExitCleanup(dir, join(dir, 'agent', 'runtime', 'runc')),
    );
    registry = await startRegistry();
    // Serves its health check (httpd without -f goes to the background) and keeps a little CPU busy.
    image = await pushBusyboxImage(registry.host, 'test/busy', {
      cmd: [
        '/bin/sh',
        '-c',
        'httpd -p "$PORT" -h /www; while true; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.2; done',
      ],
      files: { 'www/index.html': 'ok\n' },
    });
    cp = await startFakeControlPlane();
    agent = await startRuncAgent({ dir, prefix, cp, name: 'agent-usage' });
  });

  afterAll(async () => {
    await removeRuncAgent(agent, dir, prefix);
    await cp?.close();
    await registry?.stop();
    await removeDir(dir);
    for (const cancel of cancels) cancel();
  });

  it('reports memory and CPU of a running instance, serves them on /metrics, and drops them once it stops', async () => {
    const spec = wireSpec('busy', image, { resources: { memory_bytes: 64 * 1024 * 1024, cpu_milli: 500 } });
    const id = `${prefix}-busy`;
    cp?.setDesired([{ id, app_id: spec.app_id, restart_policy: 'always', spec }]);
    const mine =
      (pred: (s: NodeInstanceStatus) => boolean) =>
      (r: { instances: NodeInstanceStatus[] }): NodeInstanceStatus | undefined =>
        r.instances.find((s) => s.id === id && s.state === 'running' && pred(s));

    const withMemory = await cp?.waitForReport(
      'a report with memory',
      mine((s) => (s.memory_bytes ?? 0) > 0),
    );
    // Within the container's 64 MiB limit.
    expect(withMemory?.memory_bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    // A rate needs two samples: a later report carries it, and the busy loop uses some CPU.
    const withCpu = await cp?.waitForReport(
      'a report with cpu_milli',
      mine((s) => (s.cpu_milli ?? 0) > 0),
    );
    expect(withCpu?.cpu_milli).toBeLessThanOrEqual(2000);

    const text = await metricsText();
    const gauge = new RegExp(
      `^shellwego_instance_memory_bytes\\{instance="${id}",app="app_busy"\\} (\\d+)$`,
      'm',
    );
    expect(Number(gauge.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(
      new RegExp(`^shellwego_instance_cpu_milli\\{instance="${id}",app="app_busy"\\} \\d+$`, 'm'),
    );
    expect(text).toMatch(
      new RegExp(
        `^shellwego_instance_cpu_seconds_total\\{instance="${id}",app="app_busy"\\} [\\d.e-]+$`,
        'm',
      ),
    );

    cp?.setDesired([]);
    await cp?.waitForReport('a report without the instance', (r) =>
      r.instances.some((s) => s.id === id) ? undefined : true,
    );
    let after = await metricsText();
    for (let i = 0; i < 20 && after.includes(`instance="${id}"`); i++) {
      await sleep(100);
      after = await metricsText();
    }
    expect(after).not.toContain(`instance="${id}"`);
    expect(after).toMatch(/^# TYPE shellwego_instance_memory_bytes gauge$/m);
  }, 60_000);
});
