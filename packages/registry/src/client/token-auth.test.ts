import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, startRegistry } from '@shellwego/testkit';
import type { RegistryServer } from '@shellwego/testkit';
import { pushImage } from '../push/push.js';
import { ContentStore } from '../store/content-store.js';
import { buildTestImage } from '../test-images.js';
import type { TestImage } from '../test-images.js';
import { RegistryClient } from './http.js';
import { pull } from './pull.js';

const credentials = { username: 'deployer', password: 's3cret' };
let open: RegistryServer;
let locked: RegistryServer;
let image: TestImage;
let storeDir: string;
let store: ContentStore;

beforeAll(async () => {
  [open, locked] = await Promise.all([
    startRegistry({ auth: 'token' }),
    startRegistry({ auth: 'token', credentials }),
  ]);
  image = await buildTestImage({
    layers: [{ files: { 'bin/app': 'app' } }, { files: { 'etc/conf': 'x=1' } }],
  });
});
afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
});
beforeEach(async () => {
  storeDir = await makeTempDir('registry-store-');
  store = await ContentStore.open(storeDir);
});
afterEach(async () => {
  await removeDir(storeDir);
});

describe('Bearer token auth against Distribution', () => {
  it('pushes and pulls with anonymous tokens, reusing the cached token per scope', async () => {
    const ref = `${open.host}/test/busybox:1.0`;
    const client = new RegistryClient();
    await pushImage(client, ref, image.push);
    const tokenServer = open.tokenServer;
    if (tokenServer === undefined) throw new Error('no token server');
    const before = tokenServer.requests.length;

    const result = await pull(ref, { store, client });
    expect(result.manifestDigest).toBe(image.manifestDigest);
    const pullRequests = tokenServer.requests.slice(before);
    // One handshake for the pull scope; the config and layer GETs reuse the token.
    expect(pullRequests).toEqual([
      { scopes: ['repository:test/busybox:pull'], service: 'testkit-registry', username: undefined },
    ]);
  });

  it('sends configured credentials to the token server', async () => {
    const ref = `${locked.host}/private/app:2`;
    const config = { registries: { [locked.host]: credentials } };
    await pushImage(new RegistryClient(config), ref, image.push);

    const result = await pull(ref, { store, config });
    expect(result.manifestDigest).toBe(image.manifestDigest);
    expect(locked.tokenServer?.requests.at(-1)?.username).toBe('deployer');
  });

  it('fails with UNAUTHORIZED and a hint when credentials are missing or wrong', async () => {
    const ref = `${locked.host}/private/app:2`;
    await expect(pull(ref, { store })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const wrong = { registries: { [locked.host]: { username: 'deployer', password: 'nope' } } };
    await expect(pull(ref, { store, config: wrong })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      hint: expect.stringContaining(`registries["${locked.host}"]`) as unknown,
    });
    expect(await store.list()).toEqual([]);
  });
});
