import { join } from 'node:path';
import type { InstanceWireSpec } from '@shellwego/core';
import { RuncDriver } from '@shellwego/driver-runc';
import { mountsUnder, type BusyboxImage } from '@shellwego/testkit';
import { run } from '../network/exec.js';
import { freeSubnet, removeOwned } from '../network/test-net.js';
import { Agent } from './agent.js';
import type { FakeControlPlane } from './test-control-plane.js';

/**
 * A real agent with the runc driver for tests: data under `<dir>/agent`, its own bridge, a free subnet and interface
 * names starting with `prefix`, joined to the fake control plane, reconciling every 300 ms.
 */
export async function startRuncAgent(opts: {
  dir: string;
  prefix: string;
  cp: FakeControlPlane;
  name: string;
}): Promise<Agent> {
  return Agent.start({
    config: {
      url: opts.cp.url,
      joinToken: 'jt',
      dataDir: join(opts.dir, 'agent'),
      name: opts.name,
      heartbeatMs: 1000,
      reconcileMs: 300,
      bridgeName: `${opts.prefix}br`,
      cidr: await freeSubnet(),
      networkPrefix: opts.prefix,
      metricsPort: 0,
    },
    drivers: { container: new RuncDriver() },
  });
}

/** Stops the agent, then removes every container, mount, namespace and link it left under `dir` and `prefix`. */
export async function removeRuncAgent(agent: Agent | undefined, dir: string, prefix: string): Promise<void> {
  await agent?.stop();
  const runcRoot = join(dir, 'agent', 'runtime', 'runc');
  const left = (await run('runc', ['--root', runcRoot, 'list', '-q']).catch(() => '')).split('\n');
  for (const id of left.filter(Boolean)) await run('runc', ['--root', runcRoot, 'delete', '--force', id]);
  for (const m of (await mountsUnder(dir)).sort().reverse()) await run('umount', ['-l', m]);
  await removeOwned(prefix);
}

/** What the control plane would send for an app `name` running `image` (64 MiB, 250m, checked every 200 ms). */
export function wireSpec(
  name: string,
  image: BusyboxImage,
  over: Partial<InstanceWireSpec> = {},
): InstanceWireSpec {
  return {
    app_id: `app_${name}`,
    app_name: name,
    release_id: 'rel_1',
    release_version: 1,
    image: image.reference,
    runtime: 'container',
    env: {},
    secrets: {},
    secret_versions: {},
    resources: { memory_bytes: 64 * 1024 * 1024, cpu_milli: 250 },
    port: 8080,
    health_check: { path: '/', interval_ms: 200, timeout_ms: 1000 },
    ...over,
  };
}
