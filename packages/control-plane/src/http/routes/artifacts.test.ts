import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { uniq, useApi } from '../../test-api.js';

/** The smallest valid WebAssembly module (header only), and one with a custom section so its digest differs. */
const emptyModule = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const namedModule = (name: string): Buffer =>
  Buffer.concat([emptyModule, Buffer.from([0x00, name.length + 1, name.length]), Buffer.from(name)]);
const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const capacity = { memory_bytes: 8 * 2 ** 30, cpu_milli: 4000, disk_bytes: 100 * 2 ** 30 };
const resources = {
  memory_total_bytes: 8 * 2 ** 30,
  memory_used_bytes: 0,
  cpu_milli_total: 4000,
  cpu_milli_used: 0,
  disk_total_bytes: 100 * 2 ** 30,
  disk_used_bytes: 0,
  instance_count: 0,
};

describe.each(dialects)('wasm modules (artifacts) on $name', ({ databaseUrl }) => {
  const api = useApi(databaseUrl);

  const createApp = async (runtime: string): Promise<string> => {
    const name = uniq('fn');
    const res = await api.call('POST', '/v1/apps', { body: { name, runtime } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return name;
  };
  const upload = (app: string, content: Buffer | string) =>
    api.call('POST', `/v1/apps/${app}/artifacts`, {
      body: { content_base64: typeof content === 'string' ? content : content.toString('base64') },
    });

  it('takes a module once per content, refuses what is not one, and deploys it by digest', async () => {
    const app = await createApp('wasm');
    const bad = await upload(app, Buffer.from('#!/bin/sh\necho hi\n'));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'content_base64' } });
    expect(JSON.stringify(bad.body)).toMatch(/not a WebAssembly module/);
    expect((await upload(app, '***')).status).toBe(400);

    const module = namedModule(uniq('m'));
    const first = await upload(app, module);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ digest: digestOf(module), size: module.length, kind: 'wasm' });
    expect((await upload(app, module)).body).toEqual(first.body);

    const unknown = await api.call('POST', `/v1/apps/${app}/deployments`, {
      body: { image: `sha256:${'a'.repeat(64)}` },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'ARTIFACT_NOT_FOUND' } });
    const named = await api.call('POST', `/v1/apps/${app}/deployments`, { body: { image: 'ghost:5' } });
    expect(named.status).toBe(400);
    expect(JSON.stringify(named.body)).toMatch(/wasm app runs an uploaded module/);

    const deployed = await api.call('POST', `/v1/apps/${app}/deployments`, {
      body: { image: digestOf(module) },
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    const release = (await api.call('GET', `/v1/apps/${app}/releases`)).body as {
      items: { image: string; runtime: string }[];
    };
    expect(release.items[0]).toMatchObject({ image: digestOf(module), runtime: 'wasm' });

    // A container app cannot name a module, and a deploy may switch an app to wasm.
    const web = await createApp('container');
    const wrong = await api.call('POST', `/v1/apps/${web}/deployments`, {
      body: { image: digestOf(module) },
    });
    expect(wrong.status).toBe(400);
    expect((await upload(web, module)).status).toBe(201);
    const switched = await api.call('POST', `/v1/apps/${web}/deployments`, {
      body: { image: digestOf(module), runtime: 'wasm' },
    });
    expect(switched.status, JSON.stringify(switched.body)).toBe(202);
    expect(((await api.call('GET', `/v1/apps/${web}`)).body as { runtime: string }).runtime).toBe('wasm');

    // A viewer may not upload.
    const viewer = await api.member('viewer');
    const denied = await api.call('POST', `/v1/apps/${app}/artifacts`, {
      token: viewer.token,
      body: { content_base64: module.toString('base64') },
    });
    expect(denied.status).toBe(403);
  });

  it('gives a node only the modules of instances placed on it, and learns runtimes from its reports', async () => {
    const jt = (await api.call('POST', '/v1/nodes/join-tokens', { body: {} })).body as { token: string };
    const reg = await api.call('POST', '/v1/nodes/register', {
      token: null,
      body: { join_token: jt.token, name: uniq('node'), runtimes: ['container'], capacity },
    });
    const node = reg.body as { node_id: string; credential: string };
    const asNode = { token: node.credential };
    const report = (runtimes: string[]) =>
      api.call('POST', `/v1/nodes/${node.node_id}/status`, {
        ...asNode,
        body: { instances: [], resources, runtimes },
      });
    expect((await report(['container', 'wasm'])).status).toBe(200);
    const view = (await api.call('GET', `/v1/nodes/${node.node_id}`)).body as { runtimes: string[] };
    expect(view.runtimes).toEqual(['container', 'wasm']);

    const app = await createApp('wasm');
    const module = namedModule(uniq('n'));
    const digest = digestOf(module);
    const fetchModule = () => api.call('GET', `/v1/nodes/${node.node_id}/artifacts/${digest}`, asNode);
    await upload(app, module);
    expect((await fetchModule()).status).toBe(404); // not placed yet
    await api.call('POST', `/v1/apps/${app}/deployments`, { body: { image: digest } });
    let got = await fetchModule();
    for (let i = 0; got.status !== 200 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      got = await fetchModule();
    }
    const deps = await api.call('GET', `/v1/apps/${app}/deployments`);
    expect(got.status, JSON.stringify(deps.body)).toBe(200);
    expect(Buffer.from((got.body as { content_base64: string }).content_base64, 'base64')).toEqual(module);
    expect(
      (await api.call('GET', `/v1/nodes/${node.node_id}/artifacts/sha256:${'b'.repeat(64)}`, asNode)).status,
    ).toBe(404);
    expect((await api.call('GET', `/v1/nodes/${node.node_id}/artifacts/${digest}`)).status).toBe(401);
  });
});
