import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError, isImageError } from './image-error.js';
import { unpackLayers } from './unpack-layers.js';

export interface ImageLayer {
  mediaType: string;
  digest: string;
  /** The blob file; defaults to the store's `<storeRoot>/blobs/sha256/<hex>`. */
  path?: string;
}

export interface UnpackImageRequest {
  layers: readonly ImageLayer[];
  /** config.rootfs.diff_ids. */
  diffIds?: readonly string[];
  storeRoot: string;
  /** The image manifest digest: the tree is keyed by it. */
  imageDigest: string;
  preserveOwnership?: boolean;
}

export interface UnpackedImage {
  /** `<storeRoot>/rootfs/<hex>`. */
  path: string;
  /** false when the image was already unpacked (by this or a concurrent call). */
  unpacked: boolean;
  skipped: string[];
}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m?.[1]) throw new ImageError('UNSUPPORTED_MEDIA_TYPE', `"${digest}" is not a sha256 digest`);
  return m[1];
}

/**
 * Unpacks an image once into `<storeRoot>/rootfs/<hex of imageDigest>`; a no-op if it is there.
 *
 * Read-only: nothing writes to the tree after the atomic rename, and `rootfs/` is 0700 so only root
 * reaches it. Entry modes are kept as the image says rather than stripped of write bits: runtimes
 * layer an overlay on top (overlayfs never writes to a lower dir), and both overlay copy-up and
 * `mkfs.ext4 -d` copy modes, so stripping them would make e.g. /tmp 1555 inside every container.
 */
export async function unpackImage(req: UnpackImageRequest): Promise<UnpackedImage> {
  const hex = hexOf(req.imageDigest);
  const parent = join(req.storeRoot, 'rootfs');
  const target = join(parent, hex);
  const done = async (): Promise<boolean> =>
    (await stat(target).catch(() => undefined))?.isDirectory() ?? false;
  if (await done()) return { path: target, unpacked: false, skipped: [] };
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const layers = req.layers.map((l) => ({
    mediaType: l.mediaType,
    digest: l.digest,
    path: l.path ?? join(req.storeRoot, 'blobs', 'sha256', hexOf(l.digest)),
  }));
  try {
    const res = await unpackLayers(layers, target, {
      ...(req.diffIds === undefined ? {} : { diffIds: req.diffIds }),
      ...(req.preserveOwnership === undefined ? {} : { preserveOwnership: req.preserveOwnership }),
    });
    return { path: target, unpacked: true, skipped: res.skipped };
  } catch (e) {
    // A concurrent unpack of the same image won the rename: its tree is as good as ours.
    if (isImageError(e, 'ROOTFS_EXISTS') && (await done()))
      return { path: target, unpacked: false, skipped: [] };
    throw e;
  }
}
