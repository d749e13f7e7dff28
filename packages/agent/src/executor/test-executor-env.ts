// A real node for executor tests: a registry with busybox images, the agent's data dir (image store, runtime state,
// logs, records, leases), a bridge with a free subnet. Everything carries this run's prefix and is removed in
// cleanup() or, if the run dies, by the exit hooks.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceWireSpec } from '@shellwego/core';
import { ImageStore } from '@shellwego/registry';
import {
  makeTempDir,
  mountsUnder,
  registerRuncExitCleanup,
  removeDir,
  startRegistry,
  type RegistryServer,
} from '@shellwego/testkit';
import { pushBusyboxImage, type BusyboxImage } from '@shellwego/testkit';
import { run } from '../network/exec.js';
import { NetworkManager } from '../network/network-manager.js';
import { freeSubnet, registerExitCleanup, removeOwned, uniquePrefix } from '../network/test-net.js';
import { Resolver } from '../resolve/resolver.js';
import { wireSpec } from '../daemon/test-agent.js';

export interface ExecutorTestEnv {
  dir: string;
  prefix: string;
  bridge: string;
  registry: RegistryServer;
  /** `web` serves /www with httpd on $PORT; `crash` exits 1 at once. */
  images: { web: BusyboxImage; crash: BusyboxImage };
  /** The agent's data dir: records, leases, images, runtime state and logs all live under it. */
  agentStateDir: string;
  resolver: Resolver;
  openNetwork(): Promise<NetworkManager>;
  /** A wire spec as the control plane sends it, for app `name` on port 8080. */
  wire(name: string, image: BusyboxImage, over?: Partial<InstanceWireSpec>): InstanceWireSpec;
  instanceId(name: string): string;
  mounts(): Promise<string[]>;
  runcContainers(): Promise<string[]>;
  /** Removes a container behind the agent's back. */
  deleteContainer(id: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeExecutorTestEnv(): Promise<ExecutorTestEnv> {
  const dir = await makeTempDir('swg-exec-');
  const prefix = await uniquePrefix();
  const bridge = `${prefix}br`;
  const cidr = await freeSubnet();
  const agentStateDir = join(dir, 'agent');
  const runtimeDir = join(agentStateDir, 'runtime');
  const runcRoot = join(runtimeDir, 'runc');

  // Registered before anything is created; newest runs first, so containers and mounts go before links and files.
  const cancelNet = registerExitCleanup(prefix);
  const cancelRunc = registerRuncExitCleanup(dir, runcRoot);
  const registry = await startRegistry();
  const images = {
    web: await pushBusyboxImage(registry.host, 'test/web', {
      cmd: ['/bin/sh', '-c', 'exec httpd -f -p "$PORT" -h /www'],
      files: { 'www/index.html': 'hello from busybox\n' },
    }),
    crash: await pushBusyboxImage(registry.host, 'test/crash', { cmd: ['/bin/sh', '-c', 'exit 1'] }),
  };
  await mkdir(agentStateDir, { recursive: true });
  const resolver = new Resolver({
    images: await ImageStore.open(join(agentStateDir, 'images')),
    logDir: join(agentStateDir, 'logs'),
    runtimeDir,
  });

  const mounts = (): Promise<string[]> => mountsUnder(dir);
  const runcContainers = async (): Promise<string[]> =>
    (await run('runc', ['--root', runcRoot, 'list', '-q']).catch(() => '')).split('\n').filter(Boolean);

  return {
    dir,
    prefix,
    bridge,
    registry,
    images,
    agentStateDir,
    resolver,
    openNetwork: () =>
      NetworkManager.open({ stateDir: agentStateDir, bridgeName: bridge, cidr, namePrefix: prefix }),
    instanceId: (name) => `${prefix}-${name}`,
    wire: (name, image, over = {}) =>
      wireSpec(name, image, {
        app_id: 'app_test',
        release_id: 'rel_test',
        resources: { memory_bytes: 64 * 1024 * 1024, cpu_milli: 500 },
        health_check: { path: '/', interval_ms: 100, timeout_ms: 1000 },
        ...over,
      }),
    mounts,
    runcContainers,
    async deleteContainer(id) {
      await run('runc', ['--root', runcRoot, 'delete', '--force', id]);
    },
    async cleanup() {
      for (const id of await runcContainers())
        await run('runc', ['--root', runcRoot, 'delete', '--force', id]);
      for (const m of (await mounts()).sort().reverse()) await run('umount', ['-l', m]);
      await registry.stop();
      await removeOwned(prefix);
      await removeDir(dir);
      cancelRunc();
      cancelNet();
    },
  };
}
