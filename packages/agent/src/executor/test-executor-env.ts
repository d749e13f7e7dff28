// A real node for executor tests: a busybox image tree with a web root, runc state, a bridge with a free subnet.
// Everything carries this run's prefix and is removed in cleanup() or, if the run dies, by the exit hook.
import { execSync } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceSpec } from '@shellwego/driver-sdk';
import { makeTempDir, onExitCleanup, removeDir } from '@shellwego/testkit';
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

const applets = ['sh', 'httpd', 'sleep', 'echo'];

async function buildRootfs(dir: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  // Relative links: absolute ones would point outside the image.
  for (const a of applets) await symlink('busybox', join(dir, 'bin', a));
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'run', 'www']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'www', 'index.html'), 'hello from busybox\n');
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
  const cancelRunc = onExitCleanup(() => {
    for (const cmd of [
      `for c in $(runc --root ${runcRoot} list -q 2>/dev/null); do runc --root ${runcRoot} delete --force $c; done`,
      `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`,
      `rm -rf ${dir}`,
    ]) {
      try {
        execSync(cmd, { stdio: 'ignore', shell: '/bin/sh' });
      } catch {
        // best effort: one failure must not stop the rest
      }
    }
  });
  await buildRootfs(rootfs);
  await mkdir(agentStateDir, { recursive: true });

  const mounts = async (): Promise<string[]> =>
    (await readFile('/proc/mounts', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(dir));
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
