import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { layerCompression, type Compression } from './media-types.js';

/** Passes bytes through unchanged while hashing them. */
export class DigestTap extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  /** `sha256:<hex>`; only meaningful once the stream has ended. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Streaming zstd decoding with fzstd: Node 20's zlib has no zstd. */
export class ZstdDecompressStream extends Transform {
  private readonly decoder = new Decompress((data) => {
    // fzstd may hand out views of its window buffer that it later overwrites: copy.
    this.push(Buffer.from(data));
  });

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      cb();
    } catch (e) {
      cb(e instanceof Error ? e : new Error(String(e)));
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

export interface OpenedLayer {
  compression: Compression;
  /** The file's bytes as read, hashed: compare with the layer digest once `tar` has ended. */
  compressed: DigestTap;
  /** The decompressed tar stream, hashed: compare with the diff_id once it has ended. */
  tar: DigestTap;
  /** Every stream of the chain, so a caller can destroy them all on failure. */
  streams: Readable[];
}

/** Opens a layer blob as a hashed, decompressed tar stream. Errors surface on `tar`. */
export async function openLayer(path: string, mediaType: string, digest: string): Promise<OpenedLayer> {
  const head = Buffer.alloc(4);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const compression = layerCompression(mediaType, head, digest);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const compressed = new DigestTap();
  const tar = new DigestTap();
  const decoder =
    compression === 'gzip'
      ? createGunzip({ chunkSize: 1 << 18 })
      : compression === 'zstd'
        ? new ZstdDecompressStream()
        : undefined;
  const chain: Transform[] = decoder ? [compressed, decoder, tar] : [compressed, tar];
  // Forward any error down to `tar`, the one stream the tar reader listens to.
  let prev: Readable = file;
  for (const s of chain) {
    prev.on('error', (err: Error) => tar.destroy(err));
    prev.pipe(s);
    prev = s;
  }
  return { compression, compressed, tar, streams: [file, ...chain] };
}
