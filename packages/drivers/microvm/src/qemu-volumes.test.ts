import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHandle, InstanceSpec } from '@shellwego/driver-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuDriver } from './qemu-driver.js';
import { mustRun } from './run-tool.js';
import { readSuperblock } from './volumes.js';
import {
  BOOT_TIMEOUT_MS,
  makeMicrovmTestEnv,
  newTestPrefix,
  testDriverOptions,
  type MicrovmTestEnv,
} from './test-harness.js';

// Real QEMU boots (TCG here): volumes are ext4 images on virtio-blk that outlive the instances using them.
const prefix = newTestPrefix();
let env: MicrovmTestEnv | undefined;
const need = (): MicrovmTestEnv => {
  if (env === undefined) throw new Error('test env not ready');
  return env;
};
const driver = new QemuDriver(testDriverOptions(prefix));
const handles: InstanceHandle[] = [];

beforeAll(async () => {
  env = await makeMicrovmTestEnv(prefix);
}, 120_000);
afterAll(async () => {
  for (const h of handles) await driver.destroy(h).catch(() => undefined);
  await env?.cleanup();
});

async function logOf(spec: InstanceSpec): Promise<string> {
  return readFile(join(spec.logDir, `${spec.instanceId}.log`), 'utf8').catch(() => '');
}

async function waitLog(spec: InstanceSpec, needle: string): Promise<string> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    const text = await logOf(spec);
    if (text.includes(needle)) return text;
    if (Date.now() > deadline)
      throw new Error(`no "${needle}" in the console of ${spec.instanceId}:\n${text}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('QemuDriver volumes (virtio-blk ext4 images)', () => {
  it(
    'keeps what an instance wrote for the next instance, and a read-only mount refuses writes',
    async () => {
      const e = need();
      const data = join(e.dir, 'volumes', 'data');
      await mkdir(data, { recursive: true });
      await writeFile(join(data, 'seed.txt'), 'seeded-from-host\n');

      const writer = e.spec('vw', {
        volumes: [{ source: data, target: '/var/lib/app' }],
        process: {
          args: [
            '/bin/sh',
            '-c',
            'cat /var/lib/app/seed.txt; echo written-by-first > /var/lib/app/note && echo write-ok; ' +
              'while :; do sleep 1; done',
          ],
          env: ['PATH=/bin'],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
      });
      const h1 = await driver.start(writer);
      handles.push(h1);
      const log1 = await waitLog(writer, 'write-ok');
      expect(log1).toContain('seeded-from-host');

      // While it runs, nobody else gets the writable volume, and the error says which one.
      await expect(
        driver.start(e.spec('vw2', { volumes: [{ source: data, target: '/data' }] })),
      ).rejects.toThrow(`volume ${data} is in use by another running instance`);

      // A graceful stop: the app dies on SIGTERM, init unmounts the volume and powers off.
      await driver.stop(h1, { graceMs: 20_000 });
      const image = join(data, '.shellwego-volume.ext4');
      expect(await mustRun('debugfs', ['-R', 'cat /note', image])).toBe('written-by-first\n');
      // Init unmounted it before powering off: clean, no journal left to replay.
      expect((await readSuperblock(image)).needsRecovery).toBe(false);

      const reader = e.spec('vr', {
        volumes: [{ source: data, target: '/data', readOnly: true }],
        process: {
          args: [
            '/bin/sh',
            '-c',
            'cat /data/note; echo x > /data/other && echo ro-write-succeeded || echo ro-write-refused; ' +
              'echo reader-done',
          ],
          env: ['PATH=/bin'],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
      });
      const h2 = await driver.start(reader);
      handles.push(h2);
      const log2 = await waitLog(reader, 'app exited with code');
      expect(log2).toContain('written-by-first');
      expect(log2).toContain('ro-write-refused');
      expect(log2).toMatch(/Read-only file system/);
      expect(log2).not.toContain('ro-write-succeeded');
      await driver.stop(h2, { graceMs: 5_000 });
      expect((await driver.inspect(h2)).exitCode).toBe(0);
    },
    3 * BOOT_TIMEOUT_MS,
  );

  it(
    'a volume left dirty by a killed VM is still readable read-only by the next instance',
    async () => {
      const e = need();
      const data = join(e.dir, 'volumes', 'killed');
      await mkdir(data, { recursive: true });
      const writer = e.spec('vk', {
        volumes: [{ source: data, target: '/data' }],
        process: {
          args: [
            '/bin/sh',
            '-c',
            'trap "" TERM; echo survived-the-kill > /data/note && sync && echo synced; while :; do sleep 1; done',
          ],
          env: ['PATH=/bin'],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
      });
      const h1 = await driver.start(writer);
      handles.push(h1);
      await waitLog(writer, 'synced');
      await driver.stop(h1, { graceMs: 0 }); // SIGKILL: the guest never unmounts
      const image = join(data, '.shellwego-volume.ext4');
      expect((await readSuperblock(image)).needsRecovery).toBe(true);

      // A read-only drive cannot replay a journal; the driver replays it on the host before attaching.
      const reader = e.spec('vk2', {
        volumes: [{ source: data, target: '/data', readOnly: true }],
        process: {
          args: ['/bin/sh', '-c', 'cat /data/note'],
          env: ['PATH=/bin'],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
      });
      const h2 = await driver.start(reader);
      handles.push(h2);
      const log = await waitLog(reader, 'app exited with code');
      expect(log).toContain('survived-the-kill');
      await driver.stop(h2, { graceMs: 5_000 });
      expect((await driver.inspect(h2)).exitCode).toBe(0);
    },
    3 * BOOT_TIMEOUT_MS,
  );

  it(
    'an instance whose volume cannot be mounted does not run its app and exits non-zero',
    async () => {
      const e = need();
      const data = join(e.dir, 'volumes', 'unmountable');
      await mkdir(data, { recursive: true });
      // /bin/sh is a file in the image: no mount point can be made there.
      const spec = e.spec('vbad', {
        volumes: [{ source: data, target: '/bin/sh' }],
        process: {
          args: ['/bin/echo', 'app-ran'],
          env: ['PATH=/bin'],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
      });
      const h = await driver.start(spec);
      handles.push(h);
      const log = await waitLog(spec, 'boot failed');
      expect(log).toMatch(/cannot mount volume \w+ at \/bin\/sh/);
      for (let i = 0; i < 100 && (await driver.inspect(h)).state === 'running'; i++)
        await new Promise((r) => setTimeout(r, 200));
      await driver.stop(h, { graceMs: 1_000 });
      expect(await driver.inspect(h)).toMatchObject({ state: 'exited', exitCode: 125 });
      expect(await logOf(spec)).not.toContain('app-ran');
    },
    2 * BOOT_TIMEOUT_MS,
  );
});
