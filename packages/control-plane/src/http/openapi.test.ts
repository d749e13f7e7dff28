import { describe, expect, it } from 'vitest';
import { routeTable } from './routes/index.js';
import { useApi } from '../test-api.js';

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>
  >;
};

describe('the OpenAPI document', () => {
  const api = useApi(() => Promise.resolve(undefined));

  it('is served without credentials and documents every route of the table', async () => {
    const res = await api.call('GET', '/v1/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = res.body as Doc;
    expect(doc.openapi).toBe('3.1.0');
    for (const r of routeTable) {
      const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path}`).toBeDefined();
    }
    const create = doc.paths['/v1/apps']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(create?.properties ?? {})).toEqual(
      expect.arrayContaining([
        'name',
        'image',
        'runtime',
        'env',
        'resources',
        'replicas',
        'port',
        'domain',
        'health_check',
      ]),
    );
  });

  it('serves health and Prometheus metrics', async () => {
    expect((await api.call('GET', '/v1/health', { token: null })).body).toMatchObject({
      status: 'ok',
      database: 'sqlite',
    });
    await api.call('GET', '/v1/apps');
    const metrics = await fetch(`${api.cp.url}/metrics`);
    const text = await metrics.text();
    expect(text).toContain('shellwego_http_requests_total{method="GET",route="/v1/apps",status="200"}');
    expect(text).toContain('shellwego_http_request_duration_seconds_bucket');
  });
});

describe('rate limiting', () => {
  const api = useApi(() => Promise.resolve(undefined), { rateLimit: { burst: 5, perSecond: 1 } });

  it('answers 429 with Retry-After past the burst, per credential', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await api.call('GET', '/v1/apps');
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    // The harness's own login used one token from the address bucket, not this credential's.
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const other = await api.call('GET', '/v1/apps', { token: null });
    expect(other.status).toBe(401);
  });
});
