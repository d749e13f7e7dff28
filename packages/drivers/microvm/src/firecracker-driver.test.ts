import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { InstanceHandle } from '@shellwego/driver-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootVm, FirecrackerApi, FirecrackerApiError } from './firecracker-api.js';
import { FirecrackerDriver } from './firecracker-driver.js';
import { ourLinksIn } from './netns.js';
import { mustRun } from './run-tool.js';
import { startFakeFirecracker, type FakeRequest } from './test-firecracker-fake.js';
import { makeMicrovmTestEnv, newTestPrefix, testDriverOptions, type MicrovmTestEnv } from './test-harness.js';

// No VM boots here: the driver's real code talks to a fake Firecracker whose request validation comes from the
// OpenAPI document (test-firecracker-fake.ts). Real boots need KVM: see the flagged suite at the end.
const prefix = newTestPrefix();
let env: MicrovmTestEnv | undefined;
let fakeBinary = '';
const need = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Error('setup failed');
  return v;
};

beforeAll(async () => {
  env = await makeMicrovmTestEnv(prefix);
  // The fake as a standalone program, so the driver spawns and drives it exactly like the real binary.
  const bundle = join(env.dir, 'fake-firecracker.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'test-firecracker-fake-main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'error',
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  fakeBinary = join(env.dir, 'firecracker');
  await writeFile(fakeBinary, `#!/bin/sh\nexec ${process.execPath} ${bundle} "$@"\n`);
  await chmod(fakeBinary, 0o755);
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});

describe('fake Firecracker API (from firecracker-api.yaml)', () => {
  it('rejects bodies the OpenAPI document forbids, accepts valid ones', async () => {
    const sock = join(need(env).dir, 'fake.sock');
    const fake = await startFakeFirecracker(sock);
    const api = new FirecrackerApi(sock);
    try {
      const missing = api.put('/machine-config', { vcpu_count: 1 });
      await expect(missing).rejects.toBeInstanceOf(FirecrackerApiError);
      await expect(missing).rejects.toThrow(/mem_size_mib/);
      await expect(api.put('/machine-config', { vcpu_count: 0, mem_size_mib: 128 })).rejects.toThrow(/400/);
      await expect(api.put('/boot-source', { kernel_image_path: '/k', initrd: '/i' })).rejects.toThrow(
        /additional/,
      );
      await expect(
        api.put('/drives/root', { drive_id: 'other', is_root_device: false, path_on_host: '/x' }),
      ).rejects.toThrow(/differ/);
      await expect(api.put('/actions', { action_type: 'Reboot' })).rejects.toThrow(/400/);
      await api.put('/machine-config', { vcpu_count: 1, mem_size_mib: 128 });
      expect(fake.requests.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 204]);
    } finally {
      await api.close();
      await fake.close();
    }
  });

  it('accepts the whole boot sequence the driver sends', async () => {
    const sock = join(need(env).dir, 'fake2.sock');
    const fake = await startFakeFirecracker(sock);
    const api = new FirecrackerApi(sock);
    try {
      await bootVm(api, {
        kernel: '/k/vmlinux',
        initramfs: '/k/initramfs.cpio.gz',
        bootArgs: 'console=ttyS0',
        vcpus: 2,
        memoryMiB: 256,
        rootImage: '/i/root.ext4',
        configDrive: '/dev/shm/x.cfg',
        volumes: [
          { path: '/v/data/.shellwego-volume.ext4', readOnly: false },
          { path: '/v/seed/.shellwego-volume.ext4', readOnly: true },
        ],
        nic: { tap: 'swgtap0', mac: '02:00:00:00:00:02' },
        metadata: { shellwego: { secrets: { SOVEREIGN_KEY: 'topsecret' } } },
      });
      expect(fake.requests.filter((r) => r.status !== 204)).toEqual([]);
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'PUT /boot-source',
        'PUT /machine-config',
        'PUT /drives/rootfs',
        'PUT /drives/config',
        'PUT /drives/vol0',
        'PUT /drives/vol1',
        'PUT /network-interfaces/eth0',
        'PUT /mmds/config',
        'PUT /mmds',
        'PUT /actions',
      ]);
      expect(fake.requests.find((r) => r.path === '/drives/vol1')?.body).toMatchObject({
        is_read_only: true,
        path_on_host: '/v/seed/.shellwego-volume.ext4',
      });
    } finally {
      await api.close();
      await fake.close();
    }
  });
});

function fakeRequestsIn(log: string): FakeRequest[] {
  return log
    .split('\n')
    .filter((l) => l.startsWith('FAKE-FC '))
    .map((l) => JSON.parse(l.slice('FAKE-FC '.length)) as FakeRequest);
}

describe('FirecrackerDriver against the fake binary', () => {
  const handles: InstanceHandle[] = [];
  const driver = (): FirecrackerDriver => {
    const e = need(env);
    return new FirecrackerDriver({
      ...testDriverOptions(prefix),
      firecracker: fakeBinary,
      kernel: { vmlinux: e.kernel.kernel, initramfs: e.kernel.initramfs },
    });
  };
  afterAll(async () => {
    for (const h of handles)
      await driver()
        .destroy(h)
        .catch(() => undefined);
  });

  it('fingerprint names what is missing', async () => {
    const fp = await new FirecrackerDriver({ firecracker: '/nonexistent/firecracker' }).fingerprint();
    expect(fp.usable).toBe(false);
    expect(fp.reason).toMatch(/\/dev\/kvm|firecracker binary/);
  });

  it('boots, pauses, resumes, snapshots, restores and stops with valid API calls only', async () => {
    const e = need(env);
    const d = driver();
    const net = await e.netns('fc');
    const spec = e.spec('fc', {
      netnsPath: net.nsPath,
      network: { ip: net.ip, prefix: 24, gateway: net.gateway, mac: net.mac },
      secrets: { SOVEREIGN_KEY: 'topsecret' },
    });
    const h = await d.start(spec);
    handles.push(h);
    expect((await d.inspect(h)).state).toBe('running');
    expect(await d.recover(h)).toBe(true);
    expect((await ourLinksIn(net.nsPath)).sort()).toEqual(['swgbr0', 'swgtap0']);
    await d.pause(h);
    await d.resume(h);
    const snap = join(e.dir, 'snap');
    await d.snapshot(h, snap);
    await d.stop(h, { graceMs: 5000 });
    expect((await d.inspect(h)).state).toBe('exited');
    expect(await ourLinksIn(net.nsPath)).toEqual([]);

    const first = fakeRequestsIn(await readFile(join(spec.logDir, `${spec.instanceId}.log`), 'utf8'));
    expect(first.filter((r) => r.status !== 204 && r.method !== 'GET')).toEqual([]);
    const calls = first.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    expect(calls).toEqual([
      'PUT /boot-source',
      'PUT /machine-config',
      'PUT /drives/rootfs',
      'PUT /drives/config',
      'PUT /network-interfaces/eth0',
      'PUT /mmds/config',
      'PUT /mmds',
      'PUT /actions',
      'PATCH /vm',
      'PATCH /vm',
      'PATCH /vm',
      'PUT /snapshot/create',
      'PATCH /vm',
      'PUT /actions',
    ]);
    expect(JSON.stringify(first.find((r) => r.path === '/mmds')?.body)).toContain('topsecret');

    const restored = await d.startFromSnapshot(spec, snap);
    expect((await d.inspect(restored)).state).toBe('running');
    await d.destroy(restored);
    const second = fakeRequestsIn(
      await readFile(join(e.logDir, `${spec.instanceId}.log`), 'utf8').catch(() => ''),
    );
    expect(second).toEqual([]); // destroy removed the log with everything else
  }, 60_000);

  it('attaches volumes as ext4 image drives the API accepts, one writer per volume', async () => {
    const e = need(env);
    const d = driver();
    const data = join(e.dir, 'vol-data');
    const seed = join(e.dir, 'vol-seed');
    await mkdir(data);
    await mkdir(seed);
    await writeFile(join(seed, 'hello.txt'), 'seeded\n');
    const volumes = [
      { source: data, target: '/data', readOnly: false },
      { source: seed, target: '/srv/seed', readOnly: true, sizeBytes: 64 * 2 ** 20 },
    ];
    const spec = e.spec('fcvol', { volumes });
    const h = await d.start(spec);
    handles.push(h);

    // The images sit in the source dirs, sparse at their sizes, seeded with the directory's files.
    const dataImage = join(data, '.shellwego-volume.ext4');
    const seedImage = join(seed, '.shellwego-volume.ext4');
    expect((await stat(dataImage)).size).toBe(2 ** 30);
    expect((await stat(dataImage)).blocks * 512).toBeLessThan(64 * 2 ** 20);
    expect((await stat(seedImage)).size).toBe(64 * 2 ** 20);
    expect(await mustRun('debugfs', ['-R', 'cat /hello.txt', seedImage])).toBe('seeded\n');

    // The guest learns which drive is which by filesystem UUID, through the config drive.
    const uuidOf = async (img: string): Promise<string> =>
      (/Filesystem UUID:\s*(\S+)/.exec(await mustRun('dumpe2fs', ['-h', img]))?.[1] ?? '').replace(/-/g, '');
    const cfgVolumes = await mustRun('tar', [
      '-xOf',
      join(e.configDriveDir, `${spec.instanceId}.cfg`),
      'volumes',
    ]);
    expect(cfgVolumes).toBe(`${await uuidOf(dataImage)} rw /data\n${await uuidOf(seedImage)} ro /srv/seed\n`);

    // A second instance may not take the writable volume while the first runs; it may share the read-only one.
    await expect(d.start(e.spec('fcvol2', { volumes: [{ source: data, target: '/data' }] }))).rejects.toThrow(
      new RegExp(`volume ${data} is in use by another running instance`),
    );
    const reader = await d.start(
      e.spec('fcvol3', { volumes: [{ source: seed, target: '/s', readOnly: true }] }),
    );
    handles.push(reader);
    await d.destroy(reader);

    await d.stop(h, { graceMs: 5000 });
    const calls = fakeRequestsIn(await readFile(join(spec.logDir, `${spec.instanceId}.log`), 'utf8'));
    expect(calls.filter((r) => r.status !== 204 && r.method !== 'GET')).toEqual([]);
    expect(calls.filter((r) => r.path.startsWith('/drives/vol')).map((r) => r.body)).toEqual([
      {
        drive_id: 'vol0',
        path_on_host: dataImage,
        is_root_device: false,
        is_read_only: false,
        cache_type: 'Writeback',
      },
      {
        drive_id: 'vol1',
        path_on_host: seedImage,
        is_root_device: false,
        is_read_only: true,
        cache_type: 'Writeback',
      },
    ]);
    expect(calls.find((r) => r.path === '/boot-source')?.body).toMatchObject({
      boot_args: expect.stringContaining('swg.disks=4') as unknown,
    });

    // Stopped: the volume is free again, and its image is reused as it is (never reformatted).
    const before = await uuidOf(dataImage);
    const again = await d.start(e.spec('fcvol2', { volumes: [{ source: data, target: '/data' }] }));
    handles.push(again);
    expect(await uuidOf(dataImage)).toBe(before);
    await d.destroy(again);
  }, 60_000);

  it('refuses volume specs the guest could not mount, naming the problem', async () => {
    const e = need(env);
    const d = driver();
    const src = join(e.dir, 'vol-bad');
    await mkdir(src);
    await expect(
      d.start(e.spec('fcbad1', { volumes: [{ source: join(e.dir, 'missing'), target: '/d' }] })),
    ).rejects.toThrow(/volume source .*missing is not a directory/);
    await expect(
      d.start(e.spec('fcbad2', { volumes: [{ source: src, target: '/proc/x' }] })),
    ).rejects.toThrow(/\/proc\/x is where the guest init mounts/);
    await expect(
      d.start(
        e.spec('fcbad3', {
          volumes: [
            { source: src, target: '/a' },
            { source: src, target: '/b' },
          ],
        }),
      ),
    ).rejects.toThrow(/listed twice/);
  });
});

// Real boots need /dev/kvm and a firecracker binary with a virtio-mmio vmlinux; opt in on such hosts.
const realBoot = process.env.SHELLWEGO_TEST_FIRECRACKER === '1';
describe.skipIf(!realBoot)(
  'Firecracker real boot (KVM hosts only: set SHELLWEGO_TEST_FIRECRACKER=1; skipped here)',
  () => {
    it('boots the busybox image and prints started', async () => {
      const e = need(env);
      const d = new FirecrackerDriver({
        ...testDriverOptions(prefix),
        kernelDir:
          process.env.SHELLWEGO_TEST_FIRECRACKER_KERNEL_DIR ?? '/var/cache/shellwego-test/firecracker-kernel',
      });
      expect((await d.fingerprint()).usable).toBe(true);
      const h = await d.start(e.spec('fcreal'));
      try {
        let text = '';
        for (let i = 0; i < 100 && !text.includes('started'); i++) {
          await new Promise((r) => setTimeout(r, 200));
          text = await readFile(join(e.logDir, `${prefix}-fcreal.log`), 'utf8').catch(() => '');
        }
        expect(text).toContain('started');
      } finally {
        await d.destroy(h);
      }
    }, 60_000);
  },
);
