import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ImageError } from '../unpack/image-error.js';

/** Manifests and configs are small; refuse to read a huge "JSON" file into memory. */
const MAX_JSON_BYTES = 16 << 20;

/**
 * The real path of `rel` inside an archive or layout directory. Names come from the archive's own
 * JSON, and extracted archives may hold symlinks (docker save links duplicate layers), so a
 * `../` name or a link out of the directory (`layer.tar -> /etc/shadow`) is refused.
 */
export async function fileInside(root: string, rel: string): Promise<string> {
  if (isAbsolute(rel) || rel.split('/').includes('..')) {
    throw new ImageError('IMPORT_INVALID', `the archive names "${rel}", which is outside it`, { entry: rel });
  }
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(join(root, rel));
  } catch (e) {
    throw new ImageError('IMPORT_INVALID', `the archive has no "${rel}"`, { entry: rel, cause: e });
  }
  if (!real.startsWith(realRoot + sep)) {
    throw new ImageError('IMPORT_INVALID', `"${rel}" in the archive links outside it`, { entry: rel });
  }
  if (!(await stat(real)).isFile())
    throw new ImageError('IMPORT_INVALID', `"${rel}" in the archive is not a file`, { entry: rel });
  return real;
}

export async function readJsonFile(path: string, rel: string): Promise<{ bytes: Buffer; json: unknown }> {
  if ((await stat(path)).size > MAX_JSON_BYTES)
    throw new ImageError('IMPORT_INVALID', `"${rel}" is too large to be JSON metadata`, { entry: rel });
  const bytes = await readFile(path);
  try {
    return { bytes, json: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (e) {
    throw new ImageError('IMPORT_INVALID', `"${rel}" is not valid JSON`, { entry: rel, cause: e });
  }
}

export function sha256Of(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** sha256 and size of a file; with `gunzip`, of its decompressed content. */
export async function hashFile(path: string, gunzip = false): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const sink = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb();
    },
  });
  const src = createReadStream(path, { highWaterMark: 1 << 20 });
  if (gunzip) await pipeline(src, createGunzip(), sink);
  else await pipeline(src, sink);
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function hexOfDigest(digest: unknown, what: string): string {
  const m = typeof digest === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(digest) : null;
  if (!m?.[1])
    throw new ImageError(
      'IMPORT_INVALID',
      `${what} has digest ${String(digest)}; only sha256 digests are supported`,
    );
  return m[1];
}
