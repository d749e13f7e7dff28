import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceSpec } from '@shellwego/driver-sdk';
import {
  buildBusyboxRootfs,
  makeTempDir,
  mountsUnder,
  registerRuncExitCleanup,
  removeDir,
} from '@shellwego/testkit';
import { runTool } from './run-tool.js';

export interface RuncTestEnv {
  dir: string;
  prefix: string;
  rootfs: string;
  stateDir: string;
  logDir: string;
  spec(name: string, overrides?: Partial<InstanceSpec>): InstanceSpec;
  cleanup(): Promise<void>;
}

/** A per-run directory, image tree and id prefix, cleaned up in afterAll and, if the run dies, at exit. */
export async function makeRuncTestEnv(): Promise<RuncTestEnv> {
  const dir = await makeTempDir('swg-runc-');
  const prefix = `swgt${randomBytes(3).toString('hex')}`;
  const rootfs = await buildBusyboxRootfs(join(dir, 'image'));
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'logs');
  const runcRoot = join(stateDir, 'runc');

  const cancelExitHook = registerRuncExitCleanup(dir, runcRoot);

  return {
    dir,
    prefix,
    rootfs,
    stateDir,
    logDir,
    spec(name, overrides = {}) {
      return {
        instanceId: `${prefix}-${name}`,
        appId: 'app_test',
        rootfs,
        process: {
          args: ['/bin/sh', '-c', 'echo started; env; sleep 1000'],
          env: ['PATH=/bin', 'GREETING=hello'],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
        hostname: name,
        resources: { memoryBytes: 64 * 1024 * 1024, cpuMilli: 500, pidsLimit: 64 },
        secrets: {},
        logDir,
        stateDir,
        ...overrides,
      };
    },
    async cleanup() {
      const list = await runTool('runc', ['--root', runcRoot, 'list', '-q']);
      for (const id of list.stdout.split('\n').filter(Boolean)) {
        await runTool('runc', ['--root', runcRoot, 'delete', '--force', id]);
      }
      for (const m of (await mountsUnder(dir)).sort().reverse()) await runTool('umount', ['-l', m]);
      await removeDir(dir);
      cancelExitHook();
    },
  };
}

export { mountsUnder };

/** What runc or the kernel still holds for a container id: runc state, mounts, cgroup dirs. */
export async function leftoversOf(runcRoot: string, instanceDir: string, id: string): Promise<string[]> {
  const found: string[] = [];
  const list = await runTool('runc', ['--root', runcRoot, 'list', '-q']);
  if (list.stdout.split('\n').includes(id)) found.push(`runc state ${id}`);
  for (const m of await mountsUnder(instanceDir)) found.push(`mount ${m}`);
  for (const ctrl of await readdir('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', ctrl, id);
    if (
      await readdir(p).then(
        () => true,
        () => false,
      )
    )
      found.push(`cgroup ${p}`);
  }
  return found;
}
