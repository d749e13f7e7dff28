import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, RequestListener, Server } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { ContentStore } from '../store/content-store.js';
import { buildTestImage } from '../test-images.js';
import type { TestImage } from '../test-images.js';
import { pull } from './pull.js';

// A fake registry (Basic auth, blobs redirected) and a fake CDN on another port that records what it receives.
const BASIC = `Basic ${Buffer.from('ci:pw').toString('base64')}`;
const servers: Server[] = [];
let storeDir: string;
let store: ContentStore;

beforeEach(async () => {
  storeDir = await makeTempDir('registry-store-');
  store = await ContentStore.open(storeDir);
});
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
  await removeDir(storeDir);
});

async function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return `127.0.0.1:${address.port}`;
}

interface Fake {
  host: string;
  cdnHeaders: IncomingHttpHeaders[];
  registryAuth: (string | undefined)[];
}

async function fakeRegistry(image: TestImage, cdnBehaviour: { cutFirst?: boolean } = {}): Promise<Fake> {
  const blobs = new Map(image.push.blobs.map((b) => [b.digest, b.bytes]));
  const cdnHeaders: IncomingHttpHeaders[] = [];
  const registryAuth: (string | undefined)[] = [];
  let cut = cdnBehaviour.cutFirst === true;
  const cdn = await listen((req, res) => {
    cdnHeaders.push(req.headers);
    const bytes = blobs.get(req.url?.split('/').at(-1) ?? '');
    if (bytes === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': bytes.byteLength });
    if (cut && bytes.byteLength > 100_000) {
      // The server "dies" mid-blob: half the bytes, then the connection is gone.
      cut = false;
      res.write(bytes.subarray(0, bytes.byteLength / 2), () => res.destroy());
      return;
    }
    res.end(bytes);
  });
  const host = await listen((req, res) => {
    registryAuth.push(req.headers.authorization);
    if (req.headers.authorization !== BASIC) {
      return void res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
    }
    const url = req.url ?? '';
    if (url === '/v2/test/app/manifests/1') {
      res.writeHead(200, {
        'content-type': image.manifest.mediaType,
        'docker-content-digest': image.manifestDigest,
      });
      return void res.end(image.manifest.bytes);
    }
    const blob = /^\/v2\/test\/app\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url);
    if (blob !== null) return void res.writeHead(307, { location: `http://${cdn}/cdn/${blob[1]}` }).end();
    res.writeHead(404).end();
  });
  return { host, cdnHeaders, registryAuth };
}

describe('blob redirects', () => {
  it('follows a redirect to another host without sending it the Authorization header', async () => {
    const image = await buildTestImage({ layers: [{ files: { a: 'a' } }, { files: { b: 'b' } }] });
    const fake = await fakeRegistry(image);
    const config = { registries: { [fake.host]: { username: 'ci', password: 'pw' } } };

    const result = await pull(`${fake.host}/test/app:1`, { store, config });
    expect(result.manifestDigest).toBe(image.manifestDigest);
    expect(fake.registryAuth).toContain(BASIC);
    expect(fake.cdnHeaders).toHaveLength(3); // config + 2 layers
    for (const headers of fake.cdnHeaders) expect(headers.authorization).toBeUndefined();
  });

  it('survives a server dying mid-blob: retryable error, nothing partial stored, retry succeeds', async () => {
    const image = await buildTestImage({ layers: [{ files: { big: randomBytes(1_000_000) } }] });
    const fake = await fakeRegistry(image, { cutFirst: true });
    const config = { registries: { [fake.host]: { username: 'ci', password: 'pw' } } };
    const ref = `${fake.host}/test/app:1`;

    await expect(pull(ref, { store, config })).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retryable: true,
    });
    const files = await readdir(join(storeDir, 'blobs', 'sha256'));
    expect(files.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(await store.has(image.layers[0]?.digest ?? '')).toBe(false);

    const retry = await pull(ref, { store, config });
    expect(retry.manifestDigest).toBe(image.manifestDigest);
  });
});
