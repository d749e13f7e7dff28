import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHandle } from '@shellwego/driver-sdk';
import { driverConformance } from '@shellwego/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuncDriver, ranThenExited } from './driver.js';
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

  it('a process that exits at once started (inspect tells its code); a missing executable is named', async () => {
    const e = testEnv();
    const quick = e.spec('quick', {
      process: {
        args: ['/bin/sh', '-c', 'echo "boom"; exit 3'],
        env: ['PATH=/bin'],
        cwd: '/',
        user: { uid: 0, gid: 0 },
      },
    });
    const h = await driver.start(quick);
    handles.push(h);
    for (let i = 0; i < 100 && (await driver.inspect(h)).state !== 'exited'; i++) await sleep(20);
    expect(await driver.inspect(h)).toMatchObject({ state: 'exited', exitCode: 3 });
    // A missing executable: runc fails the start, or (when runc's init got as far as `running` before its exec
    // failed) the instance exits non-zero at once. Either way the user reads which program is missing.
    const missing = e.spec('missing', {
      process: { args: ['/no/such/program'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    });
    const outcome = await driver.start(missing).then(
      async (m) => {
        handles.push(m);
        for (let i = 0; i < 100 && (await driver.inspect(m)).state !== 'exited'; i++) await sleep(20);
        const lines: string[] = [];
        for await (const l of driver.logs(m, { follow: false, signal: new AbortController().signal }))
          lines.push(l.line);
        return `exited ${String((await driver.inspect(m)).exitCode)}: ${lines.join('\n')}`;
      },
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    expect(outcome).toMatch(/no\/such\/program/);
    expect(outcome).toMatch(/^(failed|exited [1-9])/);
  });

  it('tells a process that ran and exited from runc failing to start it', () => {
    expect(ranThenExited(true, 'boom')).toBe(true);
    expect(ranThenExited(true, '')).toBe(true);
    // Gone before runc wrote its pid file: runc never created it.
    expect(ranThenExited(false, 'boom')).toBe(false);
    expect(
      ranThenExited(
        true,
        'time="2026-11-30T04:40:00Z" level=error msg="runc run failed: unable to start container process: exec: \\"/x\\": stat /x: no such file or directory"',
      ),
    ).toBe(false);
  });

  it('rejects an invalid spec with INVALID_SPEC', async () => {
    const spec = testEnv().spec('bad', { hostname: '' });
    await expect(driver.start(spec)).rejects.toMatchObject({ code: 'INVALID_SPEC' });
  });
});
