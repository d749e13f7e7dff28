import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { request, startTestControlPlane, type TestControlPlane } from '@shellwego/testkit';
import { edgeClient, route, startTestEdge, table } from '../test-edge.js';
import { Cleanup, startUpstream } from '../test-upstream.js';
import { reportMetrics } from './metrics-reporter.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const logger = pino({ level: 'silent' });

interface Point {
  requests: number;
  errors: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
}

async function controlPlaneWithApp(): Promise<{ cp: TestControlPlane; token: string; app: string }> {
  const cp = await startTestControlPlane();
  cleanup.add(() => cp.close());
  const token = await cp.adminToken();
  const app = `shop-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const created = await request(cp.url, 'POST', '/v1/apps', { token, body: { name: app } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { cp, token, app };
}

/** The app's traffic in the last hour, as the API answers it. */
async function lastHour(cp: TestControlPlane, token: string, app: string) {
  const res = await request(cp.url, 'GET', `/v1/apps/${app}/metrics?window=1h`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const points = (res.body as { points: Point[] }).points;
  const busy = points.filter((p) => p.requests > 0);
  return {
    requests: points.reduce((n, p) => n + p.requests, 0),
    errors: points.reduce((n, p) => n + p.errors, 0),
    p95: busy.at(-1)?.latency_p95_ms ?? null,
  };
}

/** An app upstream: 500 on /fail, 200 otherwise. */
async function appUpstream() {
  const upstream = await startUpstream('u1', (req, res) => {
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'text/plain' }).end('ok');
  });
  cleanup.add(() => upstream.close());
  return upstream;
}

/** A real HTTP hop in front of the control plane that answers 503 while `down`, and passes requests on otherwise. */
async function gate(target: string): Promise<{ url: string; down: boolean; seen: number }> {
  const state = { url: '', down: false, seen: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.seen++;
      if (state.down) return void res.writeHead(503).end();
      fetch(new URL(req.url ?? '/', target), {
        method: req.method ?? 'GET',
        headers: {
          authorization: req.headers.authorization ?? '',
          'content-type': req.headers['content-type'] ?? 'application/json',
        },
        body: Buffer.concat(chunks),
      })
        .then(async (r) => res.writeHead(r.status).end(Buffer.from(await r.arrayBuffer())))
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

describe('the edge metrics reporter', () => {
  it('reports each app’s traffic, keeps it through a failed report and never sends it twice', async () => {
    const { cp, token, app } = await controlPlaneWithApp();
    const upstream = await appUpstream();
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route(`${app}.test`, [upstream], [], { app_name: app })));
    const cpGate = await gate(cp.url);
    // A long interval: this test flushes by hand.
    const reporter = reportMetrics({
      url: cpGate.url,
      token,
      registry: edge.metricsRegistry,
      logger,
      intervalMs: 3_600_000,
    });
    cleanup.add(() => reporter.close());
    const client = edgeClient(cleanup, edge.httpPort);
    const get = async (path: string, host = `${app}.test`) => {
      const res = await client.request({ path, method: 'GET', headers: { host } });
      await res.body.text();
      return res.statusCode;
    };

    expect([await get('/'), await get('/'), await get('/'), await get('/fail')]).toEqual([
      200, 200, 200, 500,
    ]);
    // A host with no route is nobody's traffic.
    expect(await get('/', 'nobody.test')).toBe(404);
    cpGate.down = true;
    expect(await reporter.flush()).toBe(false);
    expect(await lastHour(cp, token, app)).toMatchObject({ requests: 0 });

    expect([await get('/'), await get('/')]).toEqual([200, 200]);
    cpGate.down = false;
    expect(await reporter.flush()).toBe(true);
    const after = await lastHour(cp, token, app);
    expect(after).toMatchObject({ requests: 6, errors: 1 });
    // Local requests: well under the 100 ms bucket's bound.
    expect(after.p95).toBeGreaterThan(0);
    expect(after.p95).toBeLessThanOrEqual(100);

    // Nothing new: nothing sent, nothing counted twice.
    const seen = cpGate.seen;
    expect(await reporter.flush()).toBe(true);
    expect(cpGate.seen).toBe(seen);
    expect(await get('/')).toBe(200);
    await reporter.close();
    expect(await lastHour(cp, token, app)).toMatchObject({ requests: 7, errors: 1 });
  });

  it('reports on its own every interval', async () => {
    const { cp, token, app } = await controlPlaneWithApp();
    const upstream = await appUpstream();
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route(`${app}.test`, [upstream], [], { app_name: app })));
    const reporter = reportMetrics({
      url: cp.url,
      token,
      registry: edge.metricsRegistry,
      logger,
      intervalMs: 100,
    });
    cleanup.add(() => reporter.close());
    const client = edgeClient(cleanup, edge.httpPort);
    for (let i = 0; i < 3; i++) {
      const res = await client.request({ path: '/', method: 'GET', headers: { host: `${app}.test` } });
      await res.body.text();
    }
    await expect.poll(async () => (await lastHour(cp, token, app)).requests, { timeout: 5000 }).toBe(3);
  });
});
