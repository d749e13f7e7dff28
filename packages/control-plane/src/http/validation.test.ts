import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { uniq, useApi } from '../test-api.js';

type ErrorBody = { error: { code: string; message: string; field?: string } };

describe.each(dialects)('bad input on $name', ({ databaseUrl }) => {
  const api = useApi(databaseUrl);

  const cases: {
    what: string;
    body?: unknown;
    raw?: string;
    status: number;
    code: string;
    field?: string;
  }[] = [
    { what: 'malformed JSON', raw: '{"name": "x",', status: 400, code: 'INVALID_JSON', field: 'body' },
    { what: 'a JSON array', raw: '[1,2]', status: 400, code: 'VALIDATION_FAILED', field: 'body' },
    { what: 'a wrong type', body: { name: 42 }, status: 400, code: 'VALIDATION_FAILED', field: 'name' },
    {
      what: 'a missing name',
      body: { image: 'nginx' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'name',
    },
    {
      what: 'an unknown field',
      body: { name: 'ok-name', colour: 'red' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'colour',
    },
    {
      what: 'an unknown nested field',
      body: { name: 'ok-name', resources: { disk: '1g' } },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'resources.disk',
    },
    {
      what: 'negative memory',
      body: { name: 'ok-name', resources: { memory: '-1' } },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'resources.memory',
    },
    {
      what: 'absurd cpu',
      body: { name: 'ok-name', resources: { cpu: '999' } },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'resources.cpu',
    },
    {
      what: 'a name with capitals',
      body: { name: 'Bad_Name' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'name',
    },
    {
      what: 'a name ending in a hyphen',
      body: { name: 'bad-' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'name',
    },
    {
      what: 'a 64-char name',
      body: { name: 'a'.repeat(64) },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'name',
    },
    {
      what: 'an unknown runtime',
      body: { name: 'ok-name', runtime: 'vm' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'runtime',
    },
    {
      what: 'a port out of range',
      body: { name: 'ok-name', port: 70000 },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'port',
    },
    {
      what: 'negative replicas',
      body: { name: 'ok-name', replicas: -1 },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'replicas',
    },
    {
      what: 'a bad env name',
      body: { name: 'ok-name', env: { '1X': 'a' } },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'env.1X',
    },
    {
      what: 'a bad health interval',
      body: { name: 'ok-name', health_check: { interval: 'soon' } },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'health_check.interval',
    },
    {
      what: 'a bad domain',
      body: { name: 'ok-name', domain: 'not a host' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'domain',
    },
  ];

  it.each(cases)('answers $what with $status $code naming the field', async (c) => {
    const res = await api.call(
      'POST',
      '/v1/apps',
      c.raw === undefined ? { body: c.body } : { rawBody: c.raw },
    );
    expect(res.status).toBe(c.status);
    const body = res.body as ErrorBody;
    expect(body.error.code).toBe(c.code);
    if (c.field !== undefined) expect(body.error.field).toBe(c.field);
    expect(body.error.message.length).toBeGreaterThan(5);
    if (c.field !== undefined && c.field !== 'body') expect(body.error.message).toContain(c.field);
  });

  it('refuses an 11 MB body with 413 and keeps serving', async () => {
    const res = await api.call('POST', '/v1/apps', {
      body: { name: 'big', env: { X: 'y'.repeat(11 * 1024 * 1024) } },
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect((await api.call('GET', '/v1/apps')).status).toBe(200);
  });

  it('refuses non-JSON content types and unknown routes', async () => {
    const res = await fetch(`${api.cp.url}/v1/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'text/plain' },
      body: 'name=x',
    });
    expect(res.status).toBe(415);
    const nf = await api.call('GET', '/v1/nothing-here');
    expect(nf.status).toBe(404);
    expect(nf.body).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
  });

  it('refuses bad query strings and patches', async () => {
    const q = await api.call('GET', '/v1/apps?limit=-5');
    expect(q.status).toBe(400);
    expect(q.body).toMatchObject({ error: { field: 'limit' } });
    const name = uniq('p');
    await api.call('POST', '/v1/apps', { body: { name } });
    const p = await api.call('PATCH', `/v1/apps/${name}`, { body: { name: 'rename-not-allowed' } });
    expect(p.status).toBe(400);
    expect(p.body).toMatchObject({ error: { field: 'name' } });
    const t = await api.call('PATCH', `/v1/apps/${name}`, {
      body: { health_check: { interval: '1s', timeout: '5s' } },
    });
    expect(t.body).toMatchObject({ error: { field: 'health_check.timeout' } });
  });

  it('stores nothing from a refused request and loses nothing already stored', async () => {
    const name = uniq('keep');
    await api.call('POST', '/v1/apps', { body: { name, env: { A: '1' } } });
    const bad = await api.call('PATCH', `/v1/apps/${name}`, {
      body: { env: { B: '2' }, resources: { memory: '-1' } },
    });
    expect(bad.status).toBe(400);
    expect((await api.call('GET', `/v1/apps/${name}`)).body).toMatchObject({ env: { A: '1' } });
  });
});
