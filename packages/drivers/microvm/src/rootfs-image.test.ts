import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forgetImageUse, pruneRootImages, recordImageUse } from './rootfs-image.js';

// Unit level: pruning only looks at files, their mtimes (last use) and the refs start/destroy keep.
const DAY = 24 * 3_600_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');
let dir = '';

async function image(name: string, usedDaysAgo: number): Promise<string> {
  const path = join(dir, 'images', name);
  await writeFile(path, 'ext4');
  const t = new Date(NOW - usedDaysAgo * DAY);
  await utimes(path, t, t);
  return path;
}

async function instanceDir(name: string): Promise<string> {
  const d = join(dir, 'state', 'microvm', name);
  await mkdir(d, { recursive: true });
  return d;
}

const left = async (): Promise<string[]> =>
  (await readdir(join(dir, 'images'))).filter((f) => f !== 'refs').sort();

beforeEach(async () => {
  dir = await makeTempDir('swg-prune-');
  await mkdir(join(dir, 'images'));
});
afterEach(async () => {
  await removeDir(dir);
});

describe('pruneRootImages', () => {
  it('deletes images unused for longer than the limit, never one an instance still has', async () => {
    const cache = join(dir, 'images');
    const pinned = await image('pinned.ext4', 30);
    await image('old.ext4', 8);
    await image('recent.ext4', 2);
    await recordImageUse(cache, pinned, await instanceDir('a'));

    expect(await pruneRootImages(cache, { now: NOW, maxUnusedDays: 7 })).toEqual(['old.ext4']);
    expect(await left()).toEqual(['pinned.ext4', 'recent.ext4']);
  });

  it('frees an image once its instance is destroyed, or its instance dir vanished', async () => {
    const cache = join(dir, 'images');
    const a = await image('a.ext4', 10);
    const b = await image('b.ext4', 10);
    const dirA = await instanceDir('a');
    const dirB = await instanceDir('b');
    await recordImageUse(cache, a, dirA);
    await recordImageUse(cache, b, dirB);
    expect(await pruneRootImages(cache, { now: NOW })).toEqual([]);

    await forgetImageUse(cache, dirA); // destroy
    await removeDir(dirB); // removed behind the driver's back
    expect((await pruneRootImages(cache, { now: NOW })).sort()).toEqual(['a.ext4', 'b.ext4']);
    expect(await readdir(join(cache, 'refs'))).toEqual([]);
  });

  it('keeps only the newest unused images beyond the count budget, and never one used in the last hour', async () => {
    const cache = join(dir, 'images');
    for (const [i, name] of ['n1', 'n2', 'n3', 'n4'].entries()) await image(`${name}.ext4`, i + 1);
    await image('just-built.ext4', 0);
    await writeFile(join(cache, 'crashed.ext4.0a1b2c3d.tmp'), '');
    await utimes(join(cache, 'crashed.ext4.0a1b2c3d.tmp'), new Date(NOW - DAY), new Date(NOW - DAY));

    const deleted = await pruneRootImages(cache, { now: NOW, keepUnused: 2 });
    expect(deleted.sort()).toEqual(['crashed.ext4.0a1b2c3d.tmp', 'n3.ext4', 'n4.ext4']);
    expect(await left()).toEqual(['just-built.ext4', 'n1.ext4', 'n2.ext4']);
  });

  it('does nothing on a cache that does not exist yet', async () => {
    expect(await pruneRootImages(join(dir, 'nothing'), { now: NOW })).toEqual([]);
  });
});
