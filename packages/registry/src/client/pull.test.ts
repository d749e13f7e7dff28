import { randomBytes } from 'node:crypto';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeDir, startRegistry } from '@shellwego/testkit';
import type { RegistryServer } from '@shellwego/testkit';
import { pushImage } from '../push/push.js';
import { ContentStore } from '../store/content-store.js';
import { buildTestImage, buildTestIndex } from '../test-images.js';
import type { TestImage } from '../test-images.js';
import { RegistryClient } from './http.js';
import type { LayerProgress } from './progress.js';
import { pull } from './pull.js';

let registry: RegistryServer;
let client: RegistryClient;
let storeDir: string;
let store: ContentStore;

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
});
afterAll(async () => {
  await registry?.stop();
});
beforeEach(async () => {
  storeDir = await makeTempDir('registry-store-');
  store = await ContentStore.open(storeDir);
});
afterEach(async () => {
  await removeDir(storeDir);
});

const base = { files: { 'bin/hello': '#!/bin/sh\necho hello\n', 'etc/os-release': 'ID=test\n' } };

async function seed(repo: string, image: TestImage): Promise<string> {
  const ref = `${registry.host}/${repo}`;
  await pushImage(client, ref, image.push);
  return ref;
}

async function storeEntries(): Promise<string[]> {
  return readdir(join(storeDir, 'blobs', 'sha256'));
}

describe('pull from a real registry', () => {
  it('pulls a multi-layer image pushed by our own push code, with progress', async () => {
    const image = await buildTestImage({
      layers: [
        base,
        { files: { 'app/server.js': 'console.log(1)\n' } },
        { files: { 'app/data.bin': randomBytes(200_000) } },
      ],
      config: { Entrypoint: ['/bin/hello'], Env: ['A=1'] },
    });
    const ref = await seed('test/multi:1.0', image);
    const events: LayerProgress[] = [];
    const result = await pull(ref, { store, client, onProgress: (e) => events.push(e) });

    expect(result.reference).toBe(`${registry.host}/test/multi:1.0`);
    expect(result.manifestDigest).toBe(image.manifestDigest);
    expect(result.configDigest).toBe(image.configBlob.digest);
    expect(result.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    expect(result.config).toMatchObject({
      config: { Entrypoint: ['/bin/hello'] },
      rootfs: { diff_ids: image.layers.map((l) => l.diffId) },
    });
    const total = image.configBlob.bytes.byteLength + image.layers.reduce((n, l) => n + l.size, 0);
    expect(result.downloadedBytes).toBe(total);
    expect(result.skippedBytes).toBe(0);
    for (const layer of image.layers) {
      expect(await readFile(store.blobPath(layer.digest))).toEqual(layer.bytes);
      const last = events.filter((e) => e.digest === layer.digest).at(-1);
      expect(last).toMatchObject({ status: 'done', done: layer.size, total: layer.size });
    }
    expect(await store.list()).toEqual([{ reference: result.reference, digest: image.manifestDigest }]);
    expect((await storeEntries()).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('selects linux/amd64 from an OCI index, skipping unknown/unknown entries', async () => {
    const amd64 = await buildTestImage({ layers: [{ files: { arch: 'amd64' } }] });
    const arm64 = await buildTestImage({
      layers: [{ files: { arch: 'arm64' } }],
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const index = buildTestIndex([
      { image: arm64, platform: { os: 'unknown', architecture: 'unknown' } },
      { image: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { image: amd64, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
    const ref = `${registry.host}/test/multiarch:latest`;
    await pushImage(client, ref, index);

    const result = await pull(ref, { store, client });
    expect(result.indexDigest).toBe(index.digest);
    expect(result.manifestDigest).toBe(amd64.manifestDigest);
    expect(result.layers.map((l) => l.digest)).toEqual([amd64.layers[0]?.digest]);
    expect(await store.has(arm64.layers[0]?.digest ?? '')).toBe(false);

    const armClient = new RegistryClient({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const arm = await pull(`${registry.host}/test/multiarch@${index.digest}`, { store, client: armClient });
    expect(arm.manifestDigest).toBe(arm64.manifestDigest);

    const s390 = new RegistryClient({ platform: { os: 'linux', architecture: 's390x' } });
    await expect(pull(ref, { store, client: s390 })).rejects.toMatchObject({
      code: 'PLATFORM_NOT_FOUND',
      message: expect.stringMatching(/linux\/s390x.*available: linux\/arm64\/v8, linux\/amd64/) as unknown,
    });
  });

  it('downloads none of the shared layers again on a second pull', async () => {
    const first = await buildTestImage({ layers: [base, { files: { 'app/v1': 'one' } }] });
    const second = await buildTestImage({ layers: [base, { files: { 'app/v2': 'two' } }] });
    expect(second.layers[0]?.digest).toBe(first.layers[0]?.digest);
    await pull(await seed('test/shared:v1', first), { store, client });

    const events: LayerProgress[] = [];
    const result = await pull(await seed('test/shared:v2', second), {
      store,
      client,
      onProgress: (e) => events.push(e),
    });
    const shared = first.layers[0];
    const own = second.layers[1];
    expect(events.filter((e) => e.digest === shared?.digest && e.status === 'downloading')).toEqual([]);
    expect(events.filter((e) => e.digest === shared?.digest).at(-1)?.status).toBe('skipped');
    expect(result.skippedBytes).toBe(shared?.size);
    expect(result.downloadedBytes).toBe((own?.size ?? 0) + second.configBlob.bytes.byteLength);

    // Pulling the same image again downloads nothing at all.
    const again = await pull(`${registry.host}/test/shared:v2`, { store, client });
    expect(again.downloadedBytes).toBe(0);
  });

  it('lets concurrent pulls of the same image both succeed, downloading each blob once', async () => {
    const image = await buildTestImage({ layers: [base, { files: { big: randomBytes(500_000) } }] });
    const ref = await seed('test/concurrent:1', image);
    const results = await Promise.all([
      pull(ref, { store, client }),
      pull(ref, { store, client }),
      pull(ref, { store, client: new RegistryClient() }),
    ]);
    for (const r of results) expect(r.manifestDigest).toBe(image.manifestDigest);
    const total = image.configBlob.bytes.byteLength + image.layers.reduce((n, l) => n + l.size, 0);
    expect(results.reduce((n, r) => n + r.downloadedBytes, 0)).toBe(total);
    expect((await storeEntries()).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('rejects a corrupted blob with DIGEST_MISMATCH and stores nothing under its name', async () => {
    const image = await buildTestImage({ layers: [base, { files: { 'tampered.txt': 'original content' } }] });
    const ref = await seed('test/corrupt:1', image);
    const victim = image.layers[1];
    if (victim === undefined) throw new Error('no layer');
    const path = registry.blobDataPath(victim.digest);
    const bytes = await readFile(path);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff; // same size, different content
    await writeFile(path, bytes);

    await expect(pull(ref, { store, client })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await store.has(victim.digest)).toBe(false);
    expect((await storeEntries()).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it('rejects a manifest whose bytes do not match the digest the registry announces', async () => {
    // Its own content: the registry stores blobs by digest across repositories, so tampering is global.
    const image = await buildTestImage({ layers: [{ files: { 'bad-manifest': 'own content' } }] });
    const ref = await seed('test/badmanifest:1', image);
    // Still valid JSON, different bytes: the registry keeps serving the old Docker-Content-Digest.
    await appendFile(registry.blobDataPath(image.manifestDigest), ' ');

    await expect(pull(ref, { store, client })).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining(image.manifestDigest) as unknown,
    });
    await expect(
      pull(`${registry.host}/test/badmanifest@${image.manifestDigest}`, { store, client }),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await store.list()).toEqual([]);
  });

  it('falls back from a dead mirror to the registry itself', async () => {
    const image = await buildTestImage({ layers: [base, { files: { mirrored: 'yes' } }] });
    const ref = await seed('test/mirrored:1', image);
    const deadMirror = `127.0.0.1:${await freePort()}`;
    const config = { registries: { [registry.host]: { mirrors: [deadMirror] } } };
    const result = await pull(ref, { store, config });
    expect(result.manifestDigest).toBe(image.manifestDigest);
  });

  it('names the image when a tag or repository is unknown', async () => {
    await expect(pull(`${registry.host}/test/nothing:here`, { store, client })).rejects.toMatchObject({
      code: 'MANIFEST_UNKNOWN',
      message: `${registry.host}/test/nothing:here was not found on ${registry.host}`,
    });
  });

  it('leaves no partial blob after an aborted pull, and a retry succeeds', async () => {
    const image = await buildTestImage({ layers: [{ files: { big: randomBytes(6_000_000) } }] });
    const ref = await seed('test/abort:1', image);
    const controller = new AbortController();
    const aborted = pull(ref, {
      store,
      client,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.status === 'downloading') controller.abort(new Error('user cancelled'));
      },
    });
    await expect(aborted).rejects.toThrow('user cancelled');
    expect(await storeEntries()).not.toContain(image.layers[0]?.digest.slice(7));
    expect((await storeEntries()).filter((n) => n.startsWith('.tmp-'))).toEqual([]);

    const retry = await pull(ref, { store, client });
    expect(retry.manifestDigest).toBe(image.manifestDigest);
    expect(await store.has(image.layers[0]?.digest ?? '', image.layers[0]?.size)).toBe(true);
  });
});
