import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { uniq, useApi } from '../../test-api.js';

describe.each(dialects)('apps API on $name', ({ databaseUrl }) => {
  const api = useApi(databaseUrl);

  it("accepts the seed's example request verbatim", async () => {
    const res = await api.call('POST', '/v1/apps', {
      rawBody: `{ "name": "customer-blog", "image": "ghost:latest", "runtime": "container",
  "env": { "url": "https://blog.customer.com" },
  "resources": { "memory": "256m", "cpu": "0.5" },
  "replicas": 1, "port": 8080, "domain": "blog.customer.com",
  "health_check": { "path": "/", "interval": "5s", "timeout": "2s" } }`,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'customer-blog',
      image: 'ghost:latest',
      runtime: 'container',
      env: { url: 'https://blog.customer.com' },
      resources: { memory_bytes: 268435456, cpu_milli: 500 },
      replicas: 1,
      port: 8080,
      domains: ['blog.customer.com'],
      health_check: { path: '/', interval: '5s', timeout: '2s' },
      url: 'https://blog.customer.com',
    });
    // Creating with an image deploys; with no node to run it, the deployment fails and says why.
    const deps = await api.call('GET', '/v1/apps/customer-blog/deployments');
    const [dep] = (deps.body as { items: { id: string; release: number }[] }).items;
    expect(dep).toMatchObject({ release: 1 });
    await expect
      .poll(async () => (await api.call('GET', `/v1/deployments/${dep!.id}`)).body, { timeout: 10_000 })
      .toMatchObject({ status: 'failed', reason: expect.stringContaining('no ready nodes') as unknown });
    const got = await api.call('GET', '/v1/apps/customer-blog');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ name: 'customer-blog', status: 'failed', release: null, instances: [] });
    const domains = await api.call('GET', '/v1/apps/customer-blog/domains');
    expect(domains.body).toMatchObject({ items: [{ hostname: 'blog.customer.com', tls_status: 'pending' }] });
  });

  it('gets by name or id, lists with pages, patches and deletes', async () => {
    const names = [uniq('a'), uniq('a'), uniq('a')];
    const ids: string[] = [];
    for (const name of names) {
      const res = await api.call('POST', '/v1/apps', { body: { name, image: 'nginx' } });
      expect(res.status).toBe(201);
      ids.push((res.body as { id: string }).id);
    }
    const byId = await api.call('GET', `/v1/apps/${ids[0]}`);
    expect(byId.body).toMatchObject({ name: names[0], url: `http://${names[0]}.localhost` });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.call('GET', `/v1/apps?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      const body = page.body as { items: { name: string }[]; next_cursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((a) => a.name));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(names));
    expect(new Set(seen).size).toBe(seen.length);

    const patched = await api.call('PATCH', `/v1/apps/${names[1]}`, {
      body: { replicas: 3, env: { A: '1' }, resources: { memory: '1g', cpu: '500m' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      replicas: 3,
      env: { A: '1' },
      resources: { memory: '1Gi', memory_bytes: 1024 ** 3, cpu_milli: 500 },
    });
    expect((await api.call('GET', `/v1/apps/${names[1]}`)).body).toMatchObject({ replicas: 3 });

    expect((await api.call('DELETE', `/v1/apps/${names[2]}`)).status).toBe(204);
    const gone = await api.call('GET', `/v1/apps/${names[2]}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ error: { code: 'APP_NOT_FOUND' } });
  });

  it('keeps app names and domains unique across the platform', async () => {
    const name = uniq('dup');
    expect(
      (await api.call('POST', '/v1/apps', { body: { name, domain: `${name}.example.com` } })).status,
    ).toBe(201);
    const again = await api.call('POST', '/v1/apps', { body: { name } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'ALREADY_EXISTS', field: 'name' } });
    const host = await api.call('POST', '/v1/apps', {
      body: { name: uniq('other'), domain: `${name}.example.com` },
    });
    expect(host.status).toBe(409);
    expect(host.body).toMatchObject({ error: { field: 'domain' } });
  });

  it('records domains and volumes', async () => {
    const name = uniq('rec');
    await api.call('POST', '/v1/apps', { body: { name } });
    const d = await api.call('POST', `/v1/apps/${name}/domains`, {
      body: { hostname: `www.${name}.example.org` },
    });
    expect(d.status).toBe(201);
    expect(d.body).toMatchObject({ tls_status: 'pending', last_acme_error: null });
    expect((await api.call('DELETE', `/v1/apps/${name}/domains/www.${name}.example.org`)).status).toBe(204);
    expect((await api.call('GET', `/v1/apps/${name}/domains`)).body).toEqual({ items: [] });

    const v = await api.call('POST', '/v1/volumes', {
      body: { name: `${name}-data`, size: '10g', app: name },
    });
    expect(v.status).toBe(201);
    expect(v.body).toMatchObject({
      size: '10Gi',
      size_bytes: 10 * 1024 ** 3,
      mount_path: '/data',
      status: 'pending',
    });
    expect((await api.call('GET', `/v1/volumes/${name}-data`)).status).toBe(200);
    expect((await api.call('DELETE', `/v1/volumes/${name}-data`)).status).toBe(204);
    expect((await api.call('GET', `/v1/volumes/${name}-data`)).status).toBe(404);
    const nodes = await api.call('GET', '/v1/nodes');
    expect(nodes).toMatchObject({ status: 200, body: { items: [] } });
  });
});
