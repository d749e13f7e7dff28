// A real node for executor tests: a busybox image tree with a web root, runc state, a bridge with a free subnet.
// Everything carries this run's prefix and is removed in cleanup() or, if the run dies, by the exit hook.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceSpec } from '@shellwego/driver-sdk';
import {
  buildBusyboxRootfs,
  makeTempDir,
  mountsUnder,
  registerRuncExitCleanup,
  removeDir,
} from '@shellwego/testkit';
import { run } from '../network/exec.js';
import { NetworkManager } from '../network/network-manager.js';
import { freeSubnet, registerExitCleanup, removeOwned, uniquePrefix } from '../network/test-net.js';

export interface ExecutorTestEnv {
  dir: string;
  prefix: string;
  bridge: string;
  /** The driver's state dir (runc root, bundles) and the agent's (instance records, leases). */
  driverStateDir: string;
  agentStateDir: string;
  openNetwork(): Promise<NetworkManager>;
  spec(name: string, args: string[]): InstanceSpec;
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
  const rootfs = join(dir, 'image');
  const driverStateDir = join(dir, 'driver');
  const agentStateDir = join(dir, 'agent');
  const runcRoot = join(driverStateDir, 'runc');
  const logDir = join(dir, 'logs');

  // Registered before anything is created; newest runs first, so containers and mounts go before links and files.
  const cancelNet = registerExitCleanup(prefix);
  const cancelRunc = registerRuncExitCleanup(dir, runcRoot);
  await buildBusyboxRootfs(rootfs, {
    applets: ['sh', 'httpd', 'sleep', 'echo'],
    files: { 'www/index.html': 'hello from busybox\n' },
  });
  await mkdir(agentStateDir, { recursive: true });

  const mounts = (): Promise<string[]> => mountsUnder(dir);
  const runcContainers = async (): Promise<string[]> =>
    (await run('runc', ['--root', runcRoot, 'list', '-q']).catch(() => '')).split('\n').filter(Boolean);

  return {
    dir,
    prefix,
    bridge,
    driverStateDir,
    agentStateDir,
    openNetwork: () =>
      NetworkManager.open({ stateDir: agentStateDir, bridgeName: bridge, cidr, namePrefix: prefix }),
    spec: (name, args) => ({
      instanceId: `${prefix}-${name}`,
      appId: 'app_test',
      rootfs,
      process: { args, env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
      hostname: name,
      resources: { memoryBytes: 64 * 1024 * 1024, cpuMilli: 500, pidsLimit: 64 },
      secrets: {},
      logDir,
      stateDir: driverStateDir,
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
      await removeOwned(prefix);
      await removeDir(dir);
      cancelRunc();
      cancelNet();
    },
  };
}
