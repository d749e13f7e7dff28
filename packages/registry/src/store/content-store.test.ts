import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { sha256 } from '../test-images.js';
import { ContentStore } from './content-store.js';

let dir: string;
let store: ContentStore;
beforeEach(async () => {
  dir = await makeTempDir('content-store-');
  store = await ContentStore.open(dir);
});
afterEach(async () => {
  await removeDir(dir);
});

async function putBlob(content: string | Buffer): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(content);
  const digest = sha256(bytes);
  await store.writeBlob(digest, bytes);
  return { digest, size: bytes.byteLength };
}

async function putImage(
  ref: string,
  layerContents: string[],
): Promise<{ manifest: string; blobs: string[] }> {
  const config = await putBlob(JSON.stringify({ ref }));
  const layers = await Promise.all(layerContents.map((c) => putBlob(c)));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  });
  const m = await putBlob(manifest);
  await store.setRef(ref, m.digest);
  return { manifest: m.digest, blobs: [m.digest, config.digest, ...layers.map((l) => l.digest)] };
}

describe('ContentStore', () => {
  it('lists, removes refs and sweeps the blobs no ref reaches', async () => {
    const a = await putImage('r/a:1', ['shared layer', 'only a']);
    const b = await putImage('r/b:1', ['shared layer', 'only b']);
    const stray = await putBlob('unreferenced');
    expect(await store.list()).toEqual([
      { reference: 'r/a:1', digest: a.manifest },
      { reference: 'r/b:1', digest: b.manifest },
    ]);

    // The grace period protects fresh blobs another process may still be pulling.
    expect(await store.gc()).toEqual({ removedBlobs: 0, bytesFreed: 0 });
    expect(await store.gc({ graceMs: 0 })).toEqual({ removedBlobs: 1, bytesFreed: stray.size });

    expect(await store.remove('r/a:1')).toBe(true);
    expect(await store.remove('r/a:1')).toBe(false);
    const freed = await store.gc({ graceMs: 0 });
    // a's manifest, config and own layer go; the shared layer stays for b.
    expect(freed.removedBlobs).toBe(3);
    for (const d of b.blobs) expect(await store.has(d)).toBe(true);
    expect(await store.has(a.blobs[3] ?? '')).toBe(false);
  });

  it('keeps pinned blobs and removes temp files of dead writers', async () => {
    const pinned = await putBlob('in a pull right now');
    const release = store.pin([pinned.digest]);
    // pid 2^22+1 is above Linux's largest possible pid_max, so no live process owns this temp file.
    await writeFile(join(dir, 'blobs', 'sha256', '.tmp-4194305-abcdef'), 'partial');
    const result = await store.gc({ graceMs: 0 });
    expect(result).toEqual({ removedBlobs: 0, bytesFreed: 'partial'.length });
    expect(await store.has(pinned.digest)).toBe(true);
    release();
    expect((await store.gc({ graceMs: 0 })).removedBlobs).toBe(1);
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('refuses content that does not match its digest', async () => {
    await expect(store.writeBlob(sha256(Buffer.from('x')), Buffer.from('y'))).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([]);
  });
});

describe('writeBlobStream', () => {
  it('stores a streamed blob, and leaves nothing behind when the bytes do not match the digest', async () => {
    const bytes = Buffer.from('streamed layer bytes');
    const digest = sha256(bytes);
    await store.writeBlobStream(digest, Readable.from([bytes.subarray(0, 5), bytes.subarray(5)]));
    expect(await store.readBlob(digest)).toEqual(bytes);

    const wrong = sha256(Buffer.from('something else'));
    await expect(store.writeBlobStream(wrong, Readable.from([bytes]))).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(await store.has(wrong)).toBe(false);
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([digest.slice(7)]);
  });
});
