import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, startRegistry } from '@shellwego/testkit';
import type { RegistryServer } from '@shellwego/testkit';
import type { LayerProgress } from './client/progress.js';
import { ImageStore } from './images.js';
import { buildTestImage, ociLayoutTarball, pushTestImage } from './test-images.js';
import type { TestImage } from './test-images.js';

let registry: RegistryServer;
let dir: string;
let images: ImageStore;

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});
beforeEach(async () => {
  dir = await makeTempDir('image-store-');
  images = await ImageStore.open(join(dir, 'images'));
});
afterEach(async () => {
  await removeDir(dir);
});

const base = { files: { 'bin/hello': '#!/bin/sh\necho hello\n', 'etc/os-release': 'ID=test\n' } };

const seed = (repo: string, image: TestImage): Promise<string> => pushTestImage(registry.host, repo, image);

const ociTarball = (image: TestImage, name: string): Promise<string> => ociLayoutTarball(image, name, dir);

describe('ImageStore', () => {
  it('pulls and unpacks once; a re-pull downloads nothing; list shows the image', async () => {
    const image = await buildTestImage({
      layers: [base, { files: { 'app/main.js': 'console.log(1)\n' } }],
      config: { Cmd: ['/bin/hello'] },
    });
    const ref = await seed('test/app:1', image);
    const events: LayerProgress[] = [];
    const first = await images.pull(ref, { onProgress: (e) => events.push(e) });
    const size = image.configBlob.bytes.byteLength + image.layers.reduce((n, l) => n + l.size, 0);
    expect(first).toEqual({
      reference: ref,
      digest: image.manifestDigest,
      size,
      layers: 2,
      rootfs: join(dir, 'images', 'rootfs', image.manifestDigest.slice(7)),
      downloadedBytes: size,
    });
    expect(await readFile(join(first.rootfs, 'app/main.js'), 'utf8')).toBe('console.log(1)\n');
    expect(events.filter((e) => e.status === 'done')).toHaveLength(2);

    const again = await images.pull(ref);
    expect(again.downloadedBytes).toBe(0);
    expect(again.rootfs).toBe(first.rootfs);
    expect(await images.list()).toEqual([{ reference: ref, digest: image.manifestDigest, size }]);
  });

  it('imports an OCI layout tarball and unpacks it', async () => {
    const image = await buildTestImage({ layers: [base] });
    const [imported, ...more] = await images.import(await ociTarball(image, 'localhost/imported:1.0'));
    expect(more).toEqual([]);
    expect(imported).toMatchObject({
      reference: 'localhost/imported:1.0',
      digest: image.manifestDigest,
      layers: 1,
    });
    expect(await readFile(join(imported?.rootfs ?? '', 'bin/hello'), 'utf8')).toContain('echo hello');
    expect((await images.list()).map((i) => i.reference)).toEqual(['localhost/imported:1.0']);
  });

  it('remove then prune frees the blobs and the tree that only that image used', async () => {
    const shared = await buildTestImage({ layers: [base] });
    const other = await buildTestImage({ layers: [base, { files: { 'only/here': 'x'.repeat(5000) } }] });
    const keep = await images.pull(await seed('test/keep:1', shared));
    const gone = await images.pull(await seed('test/gone:1', other));

    await images.remove(gone.reference);
    await expect(images.remove(gone.reference)).rejects.toMatchObject({ code: 'REF_NOT_FOUND' });
    const pruned = await images.prune({ graceMs: 0 });
    // The manifest, the config and the second layer; the shared base layer stays.
    expect(pruned).toMatchObject({ removedBlobs: 3, removedRootfs: 1 });
    expect(pruned.bytesFreed).toBeGreaterThan(5000);
    expect(await readdir(join(dir, 'images', 'rootfs'))).toEqual([keep.digest.slice(7)]);
    expect(await images.prune({ graceMs: 0 })).toEqual({ removedBlobs: 0, removedRootfs: 0, bytesFreed: 0 });
    expect((await images.pull(keep.reference)).downloadedBytes).toBe(0);
  });

  it('finds a stored image without the network, by ref or pinned digest, and reads its config', async () => {
    const image = await buildTestImage({ layers: [base], config: { Cmd: ['/bin/hello'], Env: ['A=1'] } });
    const ref = await seed('test/local:1', image);
    expect(await images.local(ref)).toBeUndefined();
    const pulled = await images.pull(ref);
    const { downloadedBytes: _d, ...stored } = pulled;
    expect(await images.local(ref)).toEqual(stored);
    // A host that does not resolve: found by digest alone, so nothing was asked of the network.
    expect(await images.local(`nowhere.invalid/x/y@${image.manifestDigest}`)).toMatchObject({
      digest: image.manifestDigest,
      rootfs: pulled.rootfs,
    });
    expect(await images.imageConfig(pulled.digest)).toEqual({
      config: { Cmd: ['/bin/hello'], Env: ['A=1'] },
    });
    // Blobs without their unpacked tree are not ready to run: a pull must unpack them again.
    await rm(pulled.rootfs, { recursive: true });
    expect(await images.local(ref)).toBeUndefined();
  });

  it('keeps young unreferenced content by default: another process may be mid-pull', async () => {
    const image = await images.pull(await seed('test/young:1', await buildTestImage({ layers: [base] })));
    await images.remove(image.reference);
    expect(await images.prune()).toEqual({ removedBlobs: 0, removedRootfs: 0, bytesFreed: 0 });
  });
});
