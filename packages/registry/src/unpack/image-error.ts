/**
 * Errors from unpacking, importing and reading images. Their codes are not in core's catalogue yet
 * (see the registry report); each carries the offending entry or file so an operator can find it.
 */
export type ImageErrorCode =
  /** A layer entry would land outside the rootfs (`..`, a symlink leading out, a hard link outside). */
  | 'LAYER_UNSAFE'
  /** A layer does not decompress, is not a tar, or does not match its digest or diff_id. */
  | 'LAYER_CORRUPT'
  /** A layer or manifest media type this library cannot read. */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** An archive or layout to import is malformed or its content does not match its digests. */
  | 'IMPORT_INVALID'
  /** The image config gives nothing to run, or a user that the rootfs does not know. */
  | 'IMAGE_CONFIG_INVALID'
  /** unpackLayers was asked to write over an existing directory. */
  | 'ROOTFS_EXISTS';

export class ImageError extends Error {
  readonly code: ImageErrorCode;
  /** The tar entry or file the error is about, when there is one. */
  readonly entry: string | undefined;
  readonly retryable = false;

  constructor(code: ImageErrorCode, message: string, opts: { entry?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ImageError';
    this.code = code;
    this.entry = opts.entry;
  }
}

export function isImageError(e: unknown, code?: ImageErrorCode): e is ImageError {
  return e instanceof ImageError && (code === undefined || e.code === code);
}
