import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { uniq, useApi } from '../../test-api.js';
import type { Api } from '../../test-api.js';

const MiB = 2 ** 20;
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
/** 13 latency buckets: ≤5, ≤10, ≤25, ≤50, ≤100 … ≤30000 ms, then slower. */
const buckets = (counts: Record<number, number>): number[] =>
  Array.from({ length: 13 }, (_, i) => counts[i] ?? 0);

interface Point {
  at: string;
  requests: number;
  errors: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  memory_bytes: number | null;
  cpu_milli: number | null;
}
interface Metrics {
  app_id: string;
  window: string;
  step_seconds: number;
  points: Point[];
}

async function registerNode(api: Api): Promise<{ node_id: string; credential: string }> {
  const jt = (await api.call('POST', '/v1/nodes/join-tokens', { body: {} })).body as { token: string };
  const reg = await api.call('POST', '/v1/nodes/register', {
    token: null,
    body: { join_token: jt.token, name: uniq('node'), runtimes: ['container'], capacity },
  });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  return reg.body as { node_id: string; credential: string };
}

async function desiredIds(api: Api, node: { node_id: string; credential: string }): Promise<string[]> {
  const res = await api.call('GET', `/v1/nodes/${node.node_id}/watch`, { token: node.credential });
  return (res.body as { instances: { id: string }[] }).instances.map((i) => i.id);
}

describe.each(dialects)('per-app metrics on $name', ({ databaseUrl }) => {
  let offsetMs = 0;
  const api = useApi(databaseUrl, { signup: 'open' }, { now: () => new Date(Date.now() + offsetMs) });

  const report = (body: unknown, token?: string) =>
    api.call('POST', '/v1/edge/metrics', { body, ...(token === undefined ? {} : { token }) });
  const metrics = (app: string, query = '', token?: string) =>
    api.call('GET', `/v1/apps/${app}/metrics${query}`, token === undefined ? {} : { token });

  it('adds up the edges’ traffic and the nodes’ memory and answers them per step', async () => {
    // The control plane's clock starts the test 1 s into a minute, so every sample lands in the same minute.
    offsetMs = 61_000 - (Date.now() % 60_000);
    const app = uniq('web');
    expect((await api.call('POST', '/v1/apps', { body: { name: app, replicas: 2 } })).status).toBe(201);
    const nodes = [await registerNode(api), await registerNode(api)];
    const deployed = await api.call('POST', `/v1/apps/${app}/deployments`, {
      body: { image: 'registry.test/web:v1' },
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    // Each instance uses 100 MiB and 50 milli-CPU. Nodes report every ~10 s, so repeats must not add up; the rollout
    // starts the second instance once the first one reports healthy.
    const reportAll = async (): Promise<number> => {
      let count = 0;
      for (const node of nodes) {
        const instances = (await desiredIds(api, node)).map((id) => ({
          id,
          state: 'running',
          health: 'healthy',
          address: '10.88.0.9',
          memory_bytes: 100 * MiB,
          cpu_milli: 50,
        }));
        count += instances.length;
        const res = await api.call('POST', `/v1/nodes/${node.node_id}/status`, {
          token: node.credential,
          body: { instances, resources },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
      return count;
    };
    await expect.poll(reportAll).toBe(2);
    await reportAll();

    // Two edges: 10 requests (one 5xx; 8 in 25–50 ms, 2 in 50–100 ms) and 5 requests in 25–50 ms; an app the
    // platform does not know is skipped.
    const first = await report({
      apps: [
        { app, requests: 10, errors: 1, duration_ms_sum: 500, buckets: buckets({ 3: 8, 4: 2 }) },
        { app: uniq('gone'), requests: 3, errors: 0, duration_ms_sum: 3, buckets: buckets({ 0: 3 }) },
      ],
    });
    expect(first.status, JSON.stringify(first.body)).toBe(204);
    expect(
      (
        await report({
          apps: [{ app, requests: 5, errors: 0, duration_ms_sum: 150, buckets: buckets({ 3: 5 }) }],
        })
      ).status,
    ).toBe(204);

    const hour = await metrics(app, '?window=1h');
    expect(hour.status, JSON.stringify(hour.body)).toBe(200);
    const m = hour.body as Metrics;
    expect(m).toMatchObject({ window: '1h', step_seconds: 60 });
    expect(m.points).toHaveLength(60);
    const now = m.points.at(-1)!;
    expect(now).toEqual({
      at: expect.any(String) as string,
      requests: 15,
      errors: 1,
      // 13 of 15 in (25, 50] and 2 in (50, 100], interpolated inside the bucket.
      latency_p50_ms: 39.4,
      latency_p95_ms: 81.3,
      memory_bytes: 200 * MiB,
      cpu_milli: 100,
    });
    expect(Date.parse(now.at)).toBe(Math.floor((Date.now() + offsetMs) / 60_000) * 60_000);
    // Steps before any report: no traffic, and no memory rather than zero memory.
    expect(m.points[0]).toMatchObject({ requests: 0, errors: 0, latency_p50_ms: null, memory_bytes: null });

    const byDefault = (await metrics(app)).body as Metrics;
    expect(byDefault.window).toBe('1h');
    const six = (await metrics(app, '?window=6h')).body as Metrics;
    expect(six).toMatchObject({ window: '6h', step_seconds: 300 });
    expect(six.points).toHaveLength(72);
    expect(six.points.reduce((n, p) => n + p.requests, 0)).toBe(15);
    expect(six.points.at(-1)).toMatchObject({ errors: 1, memory_bytes: 200 * MiB });
    const full = (await metrics(app, '?window=24h')).body as Metrics;
    expect(full).toMatchObject({ step_seconds: 900 });
    expect(full.points).toHaveLength(96);
  });

  it('answers only those who may read the app, refuses bad input naming the field, and takes reports from admins only', async () => {
    const app = uniq('private');
    expect((await api.call('POST', '/v1/apps', { body: { name: app } })).status).toBe(201);

    const viewer = await api.member('viewer');
    expect((await metrics(app, '', viewer.token)).status).toBe(200);

    const signup = await api.call('POST', '/v1/auth/signup', {
      token: null,
      body: { email: `${uniq('other')}@example.com`, password: 'another org password' },
    });
    const outsider = (signup.body as { tokens: { access_token: string } }).tokens.access_token;
    const hidden = await metrics(app, '', outsider);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toMatchObject({ error: { code: 'APP_NOT_FOUND' } });

    const bad = await metrics(app, '?window=2h');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'window' } });

    const short = await report({
      apps: [{ app, requests: 1, errors: 0, duration_ms_sum: 1, buckets: [1] }],
    });
    expect(short.status).toBe(400);
    expect(short.body).toMatchObject({ error: { field: 'apps.0.buckets' } });

    // Only the operator's edges report traffic: a tenant could otherwise make up another app's numbers.
    const forged = await report(
      { apps: [{ app, requests: 1000, errors: 1000, duration_ms_sum: 1, buckets: buckets({ 0: 1000 }) }] },
      outsider,
    );
    expect(forged.status).toBe(403);
    const member = await report(
      { apps: [{ app, requests: 1000, errors: 1000, duration_ms_sum: 1, buckets: buckets({ 0: 1000 }) }] },
      viewer.token,
    );
    expect(member.status).toBe(403);
    const points = ((await metrics(app)).body as Metrics).points;
    expect(points.reduce((n, p) => n + p.requests, 0)).toBe(0);
  });

  it('deletes samples older than 48 hours', async () => {
    const app = uniq('old');
    const created = (await api.call('POST', '/v1/apps', { body: { name: app } })).body as { id: string };
    const { store, services } = api.cp.controlPlane;
    const minute = Math.floor((Date.now() + offsetMs) / 60_000);
    const row = (ago: number) => ({
      app_id: created.id,
      minute: minute - ago,
      source: 'edge',
      requests: 1,
      errors: 0,
      duration_ms_sum: 1,
      ...Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`lat_${i}`, i === 0 ? 1 : 0])),
      memory_bytes: null,
      cpu_milli: null,
    });
    // Typed loosely on purpose: the latency columns are built in a loop.
    await store.db
      .insertInto('app_metrics')
      .values([row(49 * 60), row(47 * 60)] as never)
      .execute();
    expect(await services.metrics.prune()).toBeGreaterThanOrEqual(1);
    const left = await store.db
      .selectFrom('app_metrics')
      .select('minute')
      .where('app_id', '=', created.id)
      .execute();
    expect(left.map((r) => Number(r.minute))).toEqual([minute - 47 * 60]);
  });
});
