import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, startRegistry } from '@shellwego/testkit';
import type { RegistryServer } from '@shellwego/testkit';
import { ImageStore } from './images.js';
import { buildTestImage, pushTestImage } from './test-images.js';
import type { TestLayerSpec } from './test-images.js';
import { tarball } from './unpack/test-tar.js';

/**
 * Whole images through a real registry: whiteouts and opaque directories across layers, and the
 * tamper cases of the issue (an entry with `../`, a symlink pointing outside), which must be refused
 * with a specific error and leave neither an unpacked tree nor the name behind.
 */
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
  dir = await makeTempDir('image-tamper-');
  images = await ImageStore.open(join(dir, 'images'));
});
afterEach(async () => {
  await removeDir(dir);
});

async function seed(repo: string, layers: TestLayerSpec[]): Promise<string> {
  return pushTestImage(registry.host, repo, await buildTestImage({ layers }));
}

async function unpackedTrees(): Promise<string[]> {
  return (await readdir(join(dir, 'images', 'rootfs')).catch(() => [])).filter((n) => !n.startsWith('.'));
}

describe('whole images from a registry', () => {
  it('applies whiteouts and opaque directories across layers', async () => {
    const ref = await seed('test/layers:1', [
      { files: { 'a/keep': 'k', 'a/gone': 'g', 'd/old': 'o', 'bin/tool': 't' } },
      {
        rawTar: tarball([
          { name: 'a/.wh.gone', data: '' },
          { name: 'd/', type: 'dir' },
          { name: 'd/.wh..wh..opq', data: '' },
          { name: 'd/new', data: 'n' },
        ]),
      },
    ]);
    const pulled = await images.pull(ref);
    expect(await readFile(join(pulled.rootfs, 'a/keep'), 'utf8')).toBe('k');
    expect(await readFile(join(pulled.rootfs, 'd/new'), 'utf8')).toBe('n');
    await expect(lstat(join(pulled.rootfs, 'a/gone'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(pulled.rootfs, 'd/old'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(pulled.rootfs, 'a/.wh.gone'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a layer with a ../ entry and leaves no tree and no name', async () => {
    const ref = await seed('test/dotdot:1', [
      { files: { 'bin/tool': 't' } },
      { rawTar: tarball([{ name: '../../escaped', data: 'x' }]) },
    ]);
    await expect(images.pull(ref)).rejects.toMatchObject({ code: 'LAYER_UNSAFE' });
    expect(await unpackedTrees()).toEqual([]);
    expect(await images.list()).toEqual([]);
  });

  it('refuses a write through a symlink pointing outside, keeping the name on its previous image', async () => {
    const good = await seed('test/evil:1', [{ files: { 'bin/tool': 't' } }]);
    const before = await images.pull(good);
    await seed('test/evil:1', [
      { rawTar: tarball([{ name: 'evil', type: 'symlink', linkname: '/etc' }]) },
      { rawTar: tarball([{ name: 'evil/passwd', data: 'root::0:0::/:/bin/sh\n' }]) },
    ]);
    await expect(images.pull(good)).rejects.toMatchObject({ code: 'LAYER_UNSAFE' });
    expect(await unpackedTrees()).toEqual([before.digest.slice('sha256:'.length)]);
    expect(await images.list()).toEqual([expect.objectContaining({ digest: before.digest })]);
    expect(await readFile('/etc/passwd', 'utf8')).not.toContain('root::0:0::/:/bin/sh');
  });
});
