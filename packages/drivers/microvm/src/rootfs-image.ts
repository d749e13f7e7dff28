import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mustRun } from './run-tool.js';

/**
 * Cache key of an unpacked image tree: its real path, inode and mtime. The agent unpacks each image digest into its
 * own directory and never changes it afterwards (instances share it read-only), so the path names the digest; inode
 * and mtime catch a tree deleted and unpacked again at the same path. Hashing the content instead would read the
 * whole image on every start.
 */
export async function imageKey(tree: string): Promise<string> {
  const real = await realpath(tree);
  const s = await stat(real);
  return createHash('sha256').update(`${real}\0${s.ino}\0${s.mtimeMs}`).digest('hex').slice(0, 24);
}

const building = new Map<string, Promise<string>>();

/**
 * The ext4 image of `tree` in `cacheDir`, built with `mkfs.ext4 -d` (no loop mount, no root-only tricks) unless
 * already cached. Sparse: the size leaves room for the app's writes, which land in the instance's overlay anyway.
 */
export async function cachedRootImage(cacheDir: string, tree: string): Promise<string> {
  const key = await imageKey(tree);
  const out = join(cacheDir, `${key}.ext4`);
  if (await exists(out)) return out;
  let p = building.get(out);
  if (p === undefined) {
    p = buildImage(tree, out).finally(() => building.delete(out));
    building.set(out, p);
  }
  return p;
}

async function buildImage(tree: string, out: string): Promise<string> {
  await mkdir(join(out, '..'), { recursive: true, mode: 0o700 });
  const usedKiB = Number.parseInt(
    (await mustRun('du', ['-sk', '--apparent-size', tree])).split('\t')[0] ?? '',
    10,
  );
  const files = (await mustRun('find', [tree, '-xdev', '-printf', '.'])).length;
  if (!Number.isFinite(usedKiB)) throw new Error(`cannot measure image tree ${tree}`);
  const sizeMiB = Math.max(256, Math.ceil((usedKiB * 2) / 1024) + 128);
  const inodes = Math.max(16_384, files * 2 + 4096);
  // A unique temp name, so two agents (or a crashed earlier build) never write the same file.
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mustRun('mkfs.ext4', [
      '-q',
      '-F',
      '-L',
      'swgroot',
      '-N',
      String(inodes),
      '-O',
      '^has_journal',
      '-E',
      'root_owner=0:0',
      '-d',
      tree,
      tmp,
      `${sizeMiB}M`,
    ]);
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return out;
}

/**
 * The instance's writable root: a qcow2 overlay backed by the cached image (QEMU), so an instance costs only what
 * it writes; or a sparse copy when the VMM reads raw images only (Firecracker).
 */
export async function createInstanceRoot(base: string, dest: string, format: 'qcow2' | 'raw'): Promise<void> {
  await rm(dest, { force: true });
  if (format === 'qcow2') {
    await mustRun('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', dest]);
  } else {
    await mustRun('cp', ['--sparse=always', '--reflink=auto', base, dest]).catch(async () => {
      await copyFile(base, dest);
    });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
