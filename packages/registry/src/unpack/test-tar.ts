// Test helpers: raw tar archives (so tests can write entries node-tar would refuse to create) and layer blobs.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { LayerBlob } from './apply-layer.js';

const run = promisify(execFile);

export interface RawEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'char';
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', char: '3', dir: '5', fifo: '6' } as const;

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const type = e.type ?? 'file';
  h.write(e.name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode ?? (type === 'dir' ? 0o755 : 0o644));
  octal(h, 108, 8, e.uid ?? 0);
  octal(h, 116, 8, e.gid ?? 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, e.mtime ?? 1_700_000_000);
  h.write(TYPEFLAG[type], 156, 1, 'ascii');
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257, 8, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** A tar archive of exactly these entries, in this order. */
export function tarball(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    blocks.push(header(e, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export type LayerFormat = 'tar' | 'gzip' | 'zstd';

const MEDIA: Record<LayerFormat, string> = {
  tar: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/** Writes a layer blob to dir and returns it with its diff_id. */
export async function writeLayer(
  dir: string,
  tar: Buffer,
  format: LayerFormat = 'gzip',
): Promise<LayerBlob & { diffId: string }> {
  const plain = join(dir, `layer-${sha256(tar).slice(7, 19)}.tar`);
  await writeFile(plain, tar);
  let path = plain;
  if (format === 'gzip') {
    path = `${plain}.gz`;
    await writeFile(path, gzipSync(tar));
  } else if (format === 'zstd') {
    path = `${plain}.zst`;
    await run('zstd', ['-q', '-f', plain, '-o', path]);
  }
  const blob = await readFile(path);
  return { path, mediaType: MEDIA[format], digest: sha256(blob), diffId: sha256(tar) };
}
