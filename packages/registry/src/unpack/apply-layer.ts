import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ReadEntry } from 'tar';
import { ImageError, isImageError } from './image-error.js';
import { openLayer } from './layer-stream.js';
import { entryParts, resolveDirInRoot } from './safe-path.js';
import { tarEntries } from './tar-entries.js';
import { WritePool, writeSmallFile } from './file-writer.js';

const run = promisify(execFile);

export interface LayerBlob {
  /** The blob file on disk. */
  path: string;
  mediaType: string;
  /** The blob's digest (of the bytes as stored, compressed or not). */
  digest: string;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** State shared by all layers of one unpack. */
export interface UnpackContext {
  root: string;
  /** chown entries and create device nodes: only possible (and only meaningful) as root. */
  preserveOwnership: boolean;
  /**
   * Directory metadata, applied once every layer is in: creating entries changes a directory's
   * mtime, and a read-only mode would stop a non-root unpack from filling it.
   */
  dirMeta: Map<string, Meta>;
  /** Entries not created (device nodes when not root, unsupported types), for the caller to log. */
  skipped: string[];
  /** Resolved directories (safe-path.ts); cleared whenever anything is removed or a symlink made. */
  dirCache: Map<string, string>;
  /** Files are created owned by us: chown only entries owned by someone else. */
  ownUid: number;
  ownGid: number;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

function metaOf(entry: ReadEntry, defaultMode: number): Meta {
  return {
    mode: (entry.mode ?? defaultMode) & 0o7777,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    mtime: entry.mtime ?? new Date(0),
  };
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Applies one layer onto ctx.root, then checks the blob digest and the diff_id. */
export async function applyLayer(
  layer: LayerBlob,
  diffId: string | undefined,
  ctx: UnpackContext,
): Promise<void> {
  const opened = await openLayer(layer.path, layer.mediaType, layer.digest);
  // Paths (real, absolute) this layer has put in place: whiteouts and opaque markers only remove
  // what lower layers left, whatever the order of entries in this tar.
  const written = new Set<string>();
  const pool = new WritePool();
  try {
    for await (const entry of tarEntries(opened.tar)) {
      if (!(await tryPooledFile(entry, ctx, written, pool))) {
        await pool.drain();
        await applyEntry(entry, ctx, written);
      }
    }
    await pool.drain();
  } catch (e) {
    await pool.drain().catch(() => undefined);
    for (const s of opened.streams) s.destroy();
    if (isImageError(e)) throw e;
    throw new ImageError(
      'LAYER_CORRUPT',
      `layer ${layer.digest} could not be read: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const digest = opened.compressed.digest();
  if (digest !== layer.digest) {
    throw new ImageError(
      'LAYER_CORRUPT',
      `layer ${layer.digest} does not match its digest (the file hashes to ${digest}); pull it again`,
    );
  }
  if (diffId !== undefined) {
    const actual = opened.tar.digest();
    if (actual !== diffId) {
      throw new ImageError(
        'LAYER_CORRUPT',
        `layer ${layer.digest} decompresses to ${actual}, but the image config's diff_id is ${diffId}`,
      );
    }
  }
}

const POOLED_FILE_MAX = 1 << 20;

/**
 * The fast path for the common entry: a small regular file at a path that does not exist yet. Its
 * data is read into memory (so the tar stream moves on) and written by the pool. Anything else
 * returns false without touching the entry, for applyEntry to handle in order after a drain.
 */
async function tryPooledFile(
  entry: ReadEntry,
  ctx: UnpackContext,
  written: Set<string>,
  pool: WritePool,
): Promise<boolean> {
  if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return false;
  if ((entry.size ?? 0) > POOLED_FILE_MAX) return false;
  const parts = entryParts(entry.path);
  const base = parts.at(-1);
  if (base === undefined || base.startsWith(WHITEOUT_PREFIX)) return false;
  const parent = await resolveDirInRoot(ctx.root, parts.slice(0, -1), {
    create: true,
    absolute: 'refuse',
    entry: entry.path,
    onCreate: (abs) => written.add(abs),
    cache: ctx.dirCache,
  });
  if (parent === undefined) return false;
  const dest = join(parent, base);
  if (pool.has(dest) || (await lstatOrUndefined(dest)) !== undefined) return false;
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk);
  written.add(dest);
  const meta = metaOf(entry, 0o644);
  await pool.add(dest, () => writeSmallFile(dest, Buffer.concat(chunks), meta, ctx));
  return true;
}

/** Removes `path` unless this layer wrote it; in a directory this layer wrote, looks deeper. */
async function removeLower(path: string, written: ReadonlySet<string>): Promise<void> {
  if (!written.has(path)) {
    await rm(path, { recursive: true, force: true });
    return;
  }
  const st = await lstatOrUndefined(path);
  if (!st?.isDirectory()) return;
  for (const child of await readdir(path)) await removeLower(join(path, child), written);
}

async function applyWhiteout(
  entry: ReadEntry,
  parts: string[],
  base: string,
  ctx: UnpackContext,
  written: ReadonlySet<string>,
): Promise<void> {
  const name = entry.path;
  entry.resume();
  ctx.dirCache.clear();
  const dir = await resolveDirInRoot(ctx.root, parts.slice(0, -1), {
    create: false,
    absolute: 'refuse',
    entry: name,
  });
  if (dir === undefined) return; // nothing below to hide
  if (base === OPAQUE_MARKER) {
    for (const child of await readdir(dir)) await removeLower(join(dir, child), written);
    return;
  }
  const victim = base.slice(WHITEOUT_PREFIX.length);
  if (victim === '' || victim === '.' || victim === '..') {
    throw new ImageError('LAYER_CORRUPT', `layer entry "${name}" is a whiteout without a name`, {
      entry: name,
    });
  }
  await removeLower(join(dir, victim), written);
}

async function applyMeta(path: string, meta: Meta, ctx: UnpackContext, isSymlink: boolean): Promise<void> {
  if (ctx.preserveOwnership && (meta.uid !== ctx.ownUid || meta.gid !== ctx.ownGid)) {
    await lchown(path, meta.uid, meta.gid);
  }
  // After chown, which clears setuid/setgid bits.
  if (!isSymlink) await chmod(path, meta.mode);
  await lutimes(path, meta.mtime, meta.mtime);
}

async function writeFile(entry: ReadEntry, dest: string): Promise<void> {
  // O_EXCL|O_NOFOLLOW: the old path was removed just before; never open through a symlink.
  const fh = await open(
    dest,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    for await (const chunk of entry) await fh.write(chunk);
  } finally {
    await fh.close();
  }
}

async function applyEntry(entry: ReadEntry, ctx: UnpackContext, written: Set<string>): Promise<void> {
  const name = entry.path;
  const parts = entryParts(name);
  const base = parts.at(-1);
  if (base === undefined) {
    // The archive root (`./`): its attributes are the rootfs's own.
    if (entry.type === 'Directory') ctx.dirMeta.set(ctx.root, metaOf(entry, 0o755));
    entry.resume();
    return;
  }
  if (base.startsWith(WHITEOUT_PREFIX)) return applyWhiteout(entry, parts, base, ctx, written);

  const parent = await resolveDirInRoot(ctx.root, parts.slice(0, -1), {
    create: true,
    absolute: 'refuse',
    entry: name,
    onCreate: (abs) => written.add(abs),
    cache: ctx.dirCache,
  });
  if (parent === undefined) throw new Error('unreachable: resolveDirInRoot with create returned nothing');
  const dest = join(parent, base);
  const existing = await lstatOrUndefined(dest);
  written.add(dest);
  const replace = async (): Promise<void> => {
    if (existing === undefined) return;
    ctx.dirCache.clear();
    if (existing.isDirectory()) await rm(dest, { recursive: true, force: true });
    else await unlink(dest);
  };

  switch (entry.type) {
    case 'Directory': {
      entry.resume();
      if (!existing?.isDirectory()) {
        await replace();
        await mkdir(dest, { mode: 0o700 });
      }
      ctx.dirMeta.set(dest, metaOf(entry, 0o755));
      return;
    }
    case 'File':
    case 'OldFile':
    case 'ContiguousFile': {
      await replace();
      await writeFile(entry, dest);
      await applyMeta(dest, metaOf(entry, 0o644), ctx, false);
      return;
    }
    case 'SymbolicLink': {
      entry.resume();
      await replace();
      ctx.dirCache.clear();
      // Any target is fine to store: the guard is that nothing is ever written through it.
      await symlink(entry.linkpath ?? '', dest);
      await applyMeta(dest, metaOf(entry, 0o777), ctx, true);
      return;
    }
    case 'Link': {
      entry.resume();
      const linkName = entry.linkpath ?? '';
      const targetParts = entryParts(linkName, name);
      const targetBase = targetParts.at(-1);
      const targetDir = await resolveDirInRoot(ctx.root, targetParts.slice(0, -1), {
        create: false,
        absolute: 'refuse',
        entry: name,
      });
      const target =
        targetDir === undefined || targetBase === undefined ? undefined : join(targetDir, targetBase);
      const st = target === undefined ? undefined : await lstatOrUndefined(target);
      if (target === undefined || st === undefined || st.isDirectory()) {
        throw new ImageError(
          'LAYER_CORRUPT',
          `layer entry "${name}" is a hard link to "${linkName}", which is not a file already in the rootfs`,
          {
            entry: name,
          },
        );
      }
      if (target === dest) return;
      await replace();
      await link(target, dest);
      return;
    }
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO': {
      entry.resume();
      if (!ctx.preserveOwnership) {
        // mknod needs root; runtimes provide /dev themselves, so an image's device nodes are rarely needed.
        ctx.skipped.push(name);
        return;
      }
      await replace();
      const mode = ((entry.mode ?? 0o600) & 0o7777).toString(8);
      // Node has no mknod(2); coreutils does it.
      if (entry.type === 'FIFO') await run('mkfifo', ['-m', mode, '--', dest]);
      else {
        const kind = entry.type === 'CharacterDevice' ? 'c' : 'b';
        await run('mknod', [
          '-m',
          mode,
          '--',
          dest,
          kind,
          String(entry.header.devmaj ?? 0),
          String(entry.header.devmin ?? 0),
        ]);
      }
      await applyMeta(dest, metaOf(entry, 0o600), ctx, false);
      return;
    }
    default:
      entry.resume();
      written.delete(dest);
      ctx.skipped.push(name);
  }
}
