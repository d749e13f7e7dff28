import { createHash, randomBytes } from 'node:crypto';
import {
  copyFile,
  mkdir,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { basename, join } from 'node:path';
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
  if (await exists(out)) {
    // mtime is the image's last use, for pruneRootImages.
    const now = new Date();
    await utimes(out, now, now).catch(() => undefined);
    return out;
  }
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

/*
 * Pruning. Every image tree an instance ever ran from leaves an ext4 image in the cache (hundreds of MB apparent,
 * what it holds on disk), and deploys of new image digests never reuse the old ones. Policy:
 *   - an image an instance still has (running or stopped, i.e. until destroy) is never deleted: start records a
 *     ref file in <cacheDir>/refs naming the instance dir, destroy removes it, and a ref whose instance dir is gone
 *     (an instance removed behind the driver's back) no longer counts;
 *   - an image used (built or started from) within the last hour is never deleted: a start may be between taking
 *     the image and recording its ref;
 *   - other images go when unused for more than `maxUnusedDays` (default 7), or when they are beyond the newest
 *     `keepUnused` (default 4) unreferenced images, least recently used first: rollbacks to a recent release stay
 *     quick, the cache stays bounded.
 * The drivers run it after each stop and at recover (throttled); both are moments an image may have become unused.
 */
const REFS = 'refs';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const refOf = (cacheDir: string, instanceDir: string): string =>
  join(cacheDir, REFS, `${createHash('sha256').update(instanceDir).digest('hex').slice(0, 24)}.json`);

/** Records that the instance in `instanceDir` runs from `image` (a file of `cacheDir`), until forgetImageUse. */
export async function recordImageUse(cacheDir: string, image: string, instanceDir: string): Promise<void> {
  await mkdir(join(cacheDir, REFS), { recursive: true, mode: 0o700 });
  const ref = refOf(cacheDir, instanceDir);
  await writeFile(`${ref}.tmp`, JSON.stringify({ instanceDir, image: basename(image) }));
  await rename(`${ref}.tmp`, ref);
}

export async function forgetImageUse(cacheDir: string, instanceDir: string): Promise<void> {
  await rm(refOf(cacheDir, instanceDir), { force: true });
}

export interface PruneOptions {
  /** Clock, for tests (ms since the epoch). */
  now?: number;
  maxUnusedDays?: number;
  keepUnused?: number;
}

/** Deletes cached root images per the policy above; returns the file names it deleted. */
export async function pruneRootImages(cacheDir: string, opts: PruneOptions = {}): Promise<string[]> {
  const now = opts.now ?? Date.now();
  const maxUnusedMs = (opts.maxUnusedDays ?? 7) * DAY_MS;
  const keepUnused = opts.keepUnused ?? 4;
  const inUse = new Set<string>();
  for (const f of await readdir(join(cacheDir, REFS)).catch(() => [] as string[])) {
    const path = join(cacheDir, REFS, f);
    if (!f.endsWith('.json')) {
      // A temp ref left by a crash.
      if (now - ((await stat(path).catch(() => null))?.mtimeMs ?? now) > HOUR_MS)
        await rm(path, { force: true });
      continue;
    }
    const ref = await readFile(path, 'utf8')
      .then((t) => JSON.parse(t) as { instanceDir?: unknown; image?: unknown })
      .catch(() => null);
    if (ref === null || typeof ref.instanceDir !== 'string' || typeof ref.image !== 'string') {
      await rm(path, { force: true });
    } else if (await exists(ref.instanceDir)) {
      inUse.add(ref.image);
    } else {
      await rm(path, { force: true });
    }
  }
  const unused: { name: string; usedAt: number }[] = [];
  const deleted: string[] = [];
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    const path = join(cacheDir, name);
    const s = await stat(path).catch(() => null);
    if (s === null || !s.isFile()) continue;
    if (name.endsWith('.tmp')) {
      // mkfs of an interrupted build; a live build is younger than an hour.
      if (now - s.mtimeMs > HOUR_MS) {
        await rm(path, { force: true });
        deleted.push(name);
      }
    } else if (
      name.endsWith('.ext4') &&
      !inUse.has(name) &&
      !building.has(path) &&
      now - s.mtimeMs > HOUR_MS
    ) {
      unused.push({ name, usedAt: s.mtimeMs });
    }
  }
  unused.sort((a, b) => b.usedAt - a.usedAt);
  for (const [i, img] of unused.entries()) {
    if (i < keepUnused && now - img.usedAt <= maxUnusedMs) continue;
    await rm(join(cacheDir, img.name), { force: true });
    deleted.push(img.name);
  }
  return deleted;
}
