import { ImageError } from './image-error.js';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => head[i] === b);
}

export function sniffCompression(head: Uint8Array): Compression {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/**
 * The compression of a layer. OCI media types say it; Docker's `rootfs.diff.tar` is used for both
 * plain and gzip layers in the wild (and `docker save` has no media type at all), so those are sniffed.
 * A declared compression whose magic bytes are missing is a corrupt layer, not a guess.
 */
export function layerCompression(mediaType: string, head: Uint8Array, digest: string): Compression {
  const oci = /^application\/vnd\.oci\.image\.layer\.(?:nondistributable\.)?v1\.tar(?:\+(gzip|zstd))?$/.exec(
    mediaType,
  );
  let declared: Compression | undefined;
  if (oci) declared = (oci[1] as Compression | undefined) ?? 'none';
  else if (
    mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip' ||
    mediaType === 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' ||
    mediaType === 'application/vnd.docker.image.rootfs.diff.tar' ||
    mediaType === ''
  ) {
    return sniffCompression(head);
  } else {
    throw new ImageError(
      'UNSUPPORTED_MEDIA_TYPE',
      `layer ${digest} has media type ${mediaType}, which is not a tar layer`,
    );
  }
  const sniffed = sniffCompression(head);
  if (declared !== 'none' && sniffed !== declared) {
    throw new ImageError(
      'LAYER_CORRUPT',
      `layer ${digest} is declared ${declared} but does not start with ${declared} magic bytes`,
    );
  }
  return declared;
}
