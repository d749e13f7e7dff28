import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHandle } from '@shellwego/driver-sdk';
import { driverConformance } from '@shellwego/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuncDriver } from './driver.js';
import { runTool } from './run-tool.js';
import { leftoversOf, makeRuncTestEnv, mountsUnder, type RuncTestEnv } from './test-harness.js';

// Needs root, mounts and cgroups: CI runs as root, so this never skips there (STYLE.md §8).
let env: RuncTestEnv | undefined;
const testEnv = (): RuncTestEnv => {
  if (env === undefined) throw new Error('test env not ready');
  return env;
};

beforeAll(async () => {
  env = await makeRuncTestEnv();
});
afterAll(async () => {
  await env?.cleanup();
});

driverConformance(
  () => new RuncDriver(),
  (name) => Promise.resolve(testEnv().spec(name)),
  {
    expectedLog: 'GREETING=hello',
    leftovers: (spec) =>
      leftoversOf(
        join(spec.stateDir, 'runc'),
        join(spec.stateDir, 'instances', spec.instanceId),
        spec.instanceId,
      ),
  },
);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every regular file under dir whose content contains needle, skipping paths under the given mounts. */
async function filesContaining(dir: string, needle: string, skip: string[]): Promise<string[]> {
  const hits: string[] = [];
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const rel of entries) {
    const p = join(dir, rel);
    if (skip.some((m) => p === m || p.startsWith(`${m}/`))) continue;
    const s = await stat(p).catch(() => null);
    if (s === null || !s.isFile()) continue;
    if ((await readFile(p)).includes(needle)) hits.push(p);
  }
  return hits;
}

describe('runc driver', () => {
  const driver = new RuncDriver();
  const handles: InstanceHandle[] = [];
  afterAll(async () => {
    for (const h of handles) await driver.destroy(h).catch(() => undefined);
  });

  it('passes secrets as env and a 0600 file on tmpfs, never to disk', async () => {
    const e = testEnv();
    const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
    const spec = e.spec('secret', {
      // Doesn't print env: the log file is on disk, and an app that logs its secrets is beyond any driver's help.
      process: {
        args: ['/bin/sh', '-c', 'echo started; sleep 1000'],
        env: ['PATH=/bin'],
        cwd: '/',
        user: { uid: 0, gid: 0 },
      },
      secrets: { DB_PASSWORD: secret },
    });
    const h = await driver.start(spec);
    handles.push(h);
    const runcRoot = join(spec.stateDir, 'runc');
    const environ = await runTool('runc', [
      '--root',
      runcRoot,
      'exec',
      spec.instanceId,
      'cat',
      '/proc/1/environ',
    ]);
    expect(environ.stdout.split('\0')).toContain(`DB_PASSWORD=${secret}`);
    const file = await runTool('runc', [
      '--root',
      runcRoot,
      'exec',
      spec.instanceId,
      'cat',
      '/run/secrets/DB_PASSWORD',
    ]);
    expect(file.stdout).toBe(secret);

    const bundle = join(spec.stateDir, 'instances', spec.instanceId, 'bundle');
    const mountLine = (await readFile('/proc/mounts', 'utf8'))
      .split('\n')
      .find((l) => l.split(' ')[1] === bundle);
    expect(mountLine?.split(' ')[2]).toBe('tmpfs');
    expect(mountLine).toContain('mode=700');
    expect((await stat(join(bundle, 'secrets', 'DB_PASSWORD'))).mode & 0o777).toBe(0o600);

    // The overlay rootfs shows the image (disk) and the upper dir; only the tmpfs itself may hold the value.
    const skip = await mountsUnder(bundle);
    expect(await filesContaining(spec.stateDir, secret, skip)).toEqual([]);
    expect(await filesContaining(spec.logDir, secret, [])).toEqual([]);
    await driver.stop(h, { graceMs: 200 });
    expect(await filesContaining(e.dir, secret, [])).toEqual([]);
  });

  it('reports an OOM kill past the memory limit', async () => {
    const e = testEnv();
    const spec = e.spec('oom', {
      process: {
        args: ['/bin/sh', '-c', 'echo started; x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived'],
        env: ['PATH=/bin'],
        cwd: '/',
        user: { uid: 0, gid: 0 },
      },
      resources: { memoryBytes: 16 * 1024 * 1024, cpuMilli: 1000, pidsLimit: 64 },
    });
    const h = await driver.start(spec);
    handles.push(h);
    let status = await driver.inspect(h);
    for (let i = 0; i < 100 && status.state === 'running'; i++) {
      await sleep(100);
      status = await driver.inspect(h);
    }
    expect(status.state).toBe('oom-killed');
    await driver.stop(h, { graceMs: 0 });
    const after = await driver.inspect(h);
    expect(after.state).toBe('oom-killed');
    expect(after.exitCode).not.toBe(0);
  });

  it('records the exit code of a process that ends by itself', async () => {
    const e = testEnv();
    const spec = e.spec('exit3', {
      process: { args: ['/bin/sh', '-c', 'exit 3'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    });
    const h = await driver.start(spec);
    handles.push(h);
    let status = await driver.inspect(h);
    for (let i = 0; i < 50 && (status.state === 'running' || status.exitCode === null); i++) {
      await sleep(100);
      status = await driver.inspect(h);
    }
    expect(status).toMatchObject({ state: 'exited', exitCode: 3 });
  });

  it('leaves no mount, cgroup or runc state after stop', async () => {
    const e = testEnv();
    const spec = e.spec('clean');
    const h = await driver.start(spec);
    handles.push(h);
    const instanceDir = join(spec.stateDir, 'instances', spec.instanceId);
    expect(
      (await leftoversOf(join(spec.stateDir, 'runc'), instanceDir, spec.instanceId)).length,
    ).toBeGreaterThan(0);
    await driver.stop(h, { graceMs: 100 });
    expect(await leftoversOf(join(spec.stateDir, 'runc'), instanceDir, spec.instanceId)).toEqual([]);
  });

  it('fails a start whose overlay cannot be mounted with the reason, leaving no mount behind', async () => {
    const spec = testEnv().spec('nolower', { rootfs: join(testEnv().dir, 'no-such-image') });
    await expect(driver.start(spec)).rejects.toMatchObject({
      code: 'START_FAILED',
      message: expect.stringMatching(/mounting the bundle failed: mount: .*swg-overlay/) as unknown,
    });
    const instanceDir = join(spec.stateDir, 'instances', spec.instanceId);
    expect(await mountsUnder(instanceDir)).toEqual([]);
    expect(await leftoversOf(join(spec.stateDir, 'runc'), instanceDir, spec.instanceId)).toEqual([]);
  });

  it('rejects an invalid spec with INVALID_SPEC', async () => {
    const spec = testEnv().spec('bad', { hostname: '' });
    await expect(driver.start(spec)).rejects.toMatchObject({ code: 'INVALID_SPEC' });
  });
});
