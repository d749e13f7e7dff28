import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * What import needs from the content store. The importer verifies every digest before calling
 * putBlob, and puts children (config, layers, child manifests) before the manifest naming them.
 */
export interface BlobSink {
  putBlob(digest: string, data: Readable | Buffer): Promise<void>;
  hasBlob(digest: string): Promise<boolean>;
  setRef(ref: string, manifestDigest: string): Promise<void>;
}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m?.[1]) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1];
}

/**
 * A BlobSink over `<root>/blobs/sha256/<hex>` (the store's layout) with refs in memory: enough for
 * tests and for unpackImage to read what was imported. Writes are atomic (temporary file, rename).
 */
export class DirBlobSink implements BlobSink {
  readonly refs = new Map<string, string>();

  constructor(readonly root: string) {}

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  async putBlob(digest: string, data: Readable | Buffer): Promise<void> {
    const path = this.blobPath(digest);
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      if (Buffer.isBuffer(data)) await writeFile(tmp, data);
      else await pipeline(data, createWriteStream(tmp));
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    return (await stat(this.blobPath(digest)).catch(() => undefined))?.isFile() ?? false;
  }

  setRef(ref: string, manifestDigest: string): Promise<void> {
    this.refs.set(ref, manifestDigest);
    return Promise.resolve();
  }
}
