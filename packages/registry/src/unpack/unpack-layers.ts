import { randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, mkdir, rename, rm, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { applyLayer, type LayerBlob, type UnpackContext } from './apply-layer.js';
import { ImageError } from './image-error.js';

export type { LayerBlob } from './apply-layer.js';

export interface UnpackOptions {
  /** config.rootfs.diff_ids, one per layer: each layer's uncompressed tar is checked against it. */
  diffIds?: readonly string[];
  /** chown entries and create device nodes. Default: when running as root. */
  preserveOwnership?: boolean;
}

export interface UnpackResult {
  path: string;
  /** Entries not created: device nodes and fifos when not root, tar entry types with no meaning here. */
  skipped: string[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function applyDirMeta(ctx: UnpackContext): Promise<void> {
  for (const [path, meta] of ctx.dirMeta) {
    // A later layer may have whited the directory out or replaced it with a file.
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    if (ctx.preserveOwnership) await lchown(path, meta.uid, meta.gid);
    await chmod(path, meta.mode);
    await utimes(path, meta.mtime, meta.mtime);
  }
}

/**
 * Applies layers in order into a new directory `target` (which must not exist). The work happens
 * in a sibling temporary directory that is renamed into place only once every layer has been
 * applied and verified, so a refused or corrupt image leaves nothing behind.
 */
export async function unpackLayers(
  layers: readonly LayerBlob[],
  target: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const { diffIds } = opts;
  if (diffIds !== undefined && diffIds.length !== layers.length) {
    throw new ImageError(
      'LAYER_CORRUPT',
      `the image config lists ${diffIds.length} diff_ids for ${layers.length} layers`,
    );
  }
  if (await exists(target))
    throw new ImageError('ROOTFS_EXISTS', `${target} already exists; remove it or unpack elsewhere`);
  const tmp = join(dirname(target), `.${basename(target)}.partial-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: 0o755 });
  const ctx: UnpackContext = {
    root: tmp,
    preserveOwnership: opts.preserveOwnership ?? process.getuid?.() === 0,
    dirMeta: new Map(),
    skipped: [],
    dirCache: new Map(),
    ownUid: process.getuid?.() ?? -1,
    ownGid: process.getgid?.() ?? -1,
  };
  try {
    for (const [i, layer] of layers.entries()) await applyLayer(layer, diffIds?.[i], ctx);
    await applyDirMeta(ctx);
    try {
      await rename(tmp, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new ImageError('ROOTFS_EXISTS', `${target} appeared while unpacking`, { cause: e });
      }
      throw e;
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { path: target, skipped: ctx.skipped };
}
