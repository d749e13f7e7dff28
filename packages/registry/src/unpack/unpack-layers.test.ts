import { lstat, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError } from './image-error.js';
import { tarball, writeLayer, sha256, type RawEntry } from './test-tar.js';
import { unpackImage } from './unpack-image.js';
import { unpackLayers } from './unpack-layers.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('unpack-');
});
afterEach(async () => {
  await removeDir(dir);
});

const isRoot = process.getuid?.() === 0;

async function expectRefused(layers: RawEntry[][], code: string, entry?: string): Promise<void> {
  const blobs = await Promise.all(layers.map((l) => writeLayer(dir, tarball(l))));
  const target = join(dir, 'rootfs');
  const err = await unpackLayers(blobs, target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  expect((err as ImageError).code).toBe(code);
  if (entry !== undefined) expect((err as ImageError).entry).toBe(entry);
  // Nothing half-written: neither the target nor the temporary directory is left.
  expect((await readdir(dir)).filter((n) => !n.startsWith('layer-'))).toEqual([]);
}

describe('unpackLayers', () => {
  it('applies gzip, zstd and plain layers with modes, mtimes, links, whiteouts and opaque dirs', async () => {
    const l1 = await writeLayer(
      dir,
      tarball([
        { name: 'etc/', type: 'dir', mode: 0o755 },
        { name: 'etc/motd', data: 'hello\n', mode: 0o640, uid: 1000, gid: 1001, mtime: 1_600_000_000 },
        { name: 'etc/gone', data: 'x' },
        { name: 'etc/hard', type: 'hardlink', linkname: 'etc/motd' },
        { name: 'bin/', type: 'dir', mode: 0o555, mtime: 1_500_000_000 },
        { name: 'bin/tool', data: '#!/bin/sh\n', mode: 0o4755 },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'usr/lib/libc.so', data: 'libc' },
        { name: 'opq/', type: 'dir' },
        { name: 'opq/old', data: 'old' },
        { name: 'opq/sub/deep', data: 'deep' },
        { name: 'dev/fifo', type: 'fifo' },
      ]),
      'gzip',
    );
    const l2 = await writeLayer(
      dir,
      tarball([
        // the opaque marker comes after this layer's own entry: it must still only clear lower content
        { name: 'opq/new', data: 'new' },
        { name: 'opq/.wh..wh..opq' },
        { name: 'etc/.wh.gone' },
        // a relative symlink inside the rootfs may be written through (merged-/usr images do this)
        { name: 'lib/extra.so', data: 'extra' },
      ]),
      'zstd',
    );
    const l3 = await writeLayer(dir, tarball([{ name: '/etc/abs', data: 'leading slash stripped' }]), 'tar');
    const target = join(dir, 'rootfs');
    const res = await unpackLayers([l1, l2, l3], target, { diffIds: [l1.diffId, l2.diffId, l3.diffId] });
    expect(res.path).toBe(target);

    expect(await readFile(join(target, 'etc/motd'), 'utf8')).toBe('hello\n');
    const motd = await stat(join(target, 'etc/motd'));
    expect(motd.mode & 0o7777).toBe(0o640);
    expect(motd.mtimeMs).toBe(1_600_000_000_000);
    expect((await stat(join(target, 'etc/hard'))).ino).toBe(motd.ino);
    expect((await stat(join(target, 'bin/tool'))).mode & 0o7777).toBe(0o4755);
    const bin = await stat(join(target, 'bin'));
    expect(bin.mode & 0o7777).toBe(0o555);
    expect(bin.mtimeMs).toBe(1_500_000_000_000);
    expect(await readlink(join(target, 'lib'))).toBe('usr/lib');
    expect(await readFile(join(target, 'usr/lib/extra.so'), 'utf8')).toBe('extra');
    await expect(lstat(join(target, 'etc/gone'))).rejects.toThrow(/ENOENT/);
    expect((await readdir(join(target, 'opq'))).sort()).toEqual(['new']);
    expect(await readFile(join(target, 'etc/abs'), 'utf8')).toBe('leading slash stripped');
    if (isRoot) {
      expect(motd.uid).toBe(1000);
      expect(motd.gid).toBe(1001);
      expect((await lstat(join(target, 'dev/fifo'))).isFIFO()).toBe(true);
    } else {
      expect(res.skipped).toEqual(['dev/fifo']);
    }
    expect((await readdir(dir)).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('refuses a ../ entry', async () => {
    await expectRefused([[{ name: 'a/../../escape', data: 'x' }]], 'LAYER_UNSAFE', 'a/../../escape');
  });

  it('refuses an absolute entry with ..', async () => {
    await expectRefused([[{ name: '/../../tmp/escape', data: 'x' }]], 'LAYER_UNSAFE', '/../../tmp/escape');
  });

  it('refuses to write through a symlink placed by an earlier layer', async () => {
    await expectRefused(
      [
        [{ name: 'evil', type: 'symlink', linkname: '/etc' }],
        [{ name: 'evil/passwd', data: 'root::0:0::/:/bin/sh\n' }],
      ],
      'LAYER_UNSAFE',
      'evil/passwd',
    );
  });

  it('refuses to write through a relative symlink that climbs out', async () => {
    await expectRefused(
      [
        [
          { name: 'a/', type: 'dir' },
          { name: 'a/up', type: 'symlink', linkname: '../../..' },
          { name: 'a/up/tmp/escape', data: 'x' },
        ],
      ],
      'LAYER_UNSAFE',
      'a/up/tmp/escape',
    );
  });

  it('refuses a hard link to a path outside the rootfs', async () => {
    await expectRefused(
      [[{ name: 'passwd', type: 'hardlink', linkname: '../../../etc/passwd' }]],
      'LAYER_UNSAFE',
      'passwd',
    );
  });

  it('refuses a hard link to a file that is not in the rootfs', async () => {
    await expectRefused(
      [[{ name: 'passwd', type: 'hardlink', linkname: '/etc/passwd' }]],
      'LAYER_CORRUPT',
      'passwd',
    );
  });

  it('refuses a corrupted gzip stream', async () => {
    const gz = gzipSync(
      tarball([
        { name: 'big', data: Buffer.alloc(200_000, 7) },
        { name: 'after', data: 'x' },
      ]),
    );
    gz.fill(0x55, 40, 80);
    const path = join(dir, 'layer-corrupt.gz');
    await writeFile(path, gz);
    const err = await unpackLayers(
      [{ path, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz) }],
      join(dir, 'rootfs'),
    ).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe('LAYER_CORRUPT');
    expect(await readdir(dir)).toEqual(['layer-corrupt.gz']);
  });

  it('refuses a layer whose blob does not match its digest', async () => {
    const layer = await writeLayer(dir, tarball([{ name: 'f', data: 'x' }]));
    const err = await unpackLayers(
      [{ ...layer, digest: sha256(Buffer.from('other')) }],
      join(dir, 'rootfs'),
    ).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe('LAYER_CORRUPT');
    expect((err as ImageError).message).toMatch(/does not match its digest/);
  });

  it('refuses a diff_id mismatch', async () => {
    const layer = await writeLayer(dir, tarball([{ name: 'f', data: 'x' }]), 'zstd');
    const err = await unpackLayers([layer], join(dir, 'rootfs'), {
      diffIds: [sha256(Buffer.from('other'))],
    }).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe('LAYER_CORRUPT');
    expect((err as ImageError).message).toMatch(/diff_id/);
    expect((await readdir(dir)).filter((n) => !n.startsWith('layer-'))).toEqual([]);
  });

  it('refuses a truncated tar', async () => {
    const tar = tarball([{ name: 'big', data: Buffer.alloc(10_000, 1) }]).subarray(0, 3000);
    await expectRefusedBlob(tar, 'LAYER_CORRUPT');
  });

  it('rejects an unknown media type', async () => {
    const layer = await writeLayer(dir, tarball([{ name: 'f', data: 'x' }]));
    const err = await unpackLayers(
      [{ ...layer, mediaType: 'application/vnd.example.layer' }],
      join(dir, 'rootfs'),
    ).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it("sniffs Docker's ambiguous rootfs.diff.tar type", async () => {
    const gz = await writeLayer(dir, tarball([{ name: 'a', data: 'gz' }]), 'gzip');
    const plain = await writeLayer(dir, tarball([{ name: 'b', data: 'plain' }]), 'tar');
    const docker = 'application/vnd.docker.image.rootfs.diff.tar';
    const target = join(dir, 'rootfs');
    await unpackLayers(
      [
        { ...gz, mediaType: docker },
        { ...plain, mediaType: docker },
      ],
      target,
    );
    expect(await readFile(join(target, 'a'), 'utf8')).toBe('gz');
    expect(await readFile(join(target, 'b'), 'utf8')).toBe('plain');
  });
});

async function expectRefusedBlob(tar: Buffer, code: string): Promise<void> {
  const path = join(dir, 'layer-raw.tar');
  await writeFile(path, tar);
  const err = await unpackLayers(
    [{ path, mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(tar) }],
    join(dir, 'rootfs'),
  ).catch((e: unknown) => e);
  expect((err as ImageError).code).toBe(code);
  expect(await readdir(dir)).toEqual(['layer-raw.tar']);
}

describe('unpackImage', () => {
  it('unpacks an image once under rootfs/<hex> and is a no-op afterwards', async () => {
    const layer = await writeLayer(dir, tarball([{ name: 'hello', data: 'world' }]));
    const imageDigest = sha256(Buffer.from('manifest'));
    const req = { layers: [layer], diffIds: [layer.diffId], storeRoot: dir, imageDigest };
    const [a, b] = await Promise.all([unpackImage(req), unpackImage(req)]);
    expect(a.path).toBe(join(dir, 'rootfs', imageDigest.slice(7)));
    expect([a.unpacked, b.unpacked].sort()).toEqual([false, true]);
    expect(await readFile(join(a.path, 'hello'), 'utf8')).toBe('world');
    expect((await unpackImage(req)).unpacked).toBe(false);
    expect(await readdir(join(dir, 'rootfs'))).toEqual([imageDigest.slice(7)]);
  });
});
