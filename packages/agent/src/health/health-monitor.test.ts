import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthMonitor, type HealthChange } from './health-monitor.js';
import type { HealthCheckSpec } from './health-check.js';

// A real server on 127.0.0.1 whose answer each test sets: status code, or no answer at all.
let server: Server;
let port: number;
let mode: { status: number } | 'hang' = { status: 200 };

beforeAll(async () => {
  server = createServer((req, res) => {
    if (mode === 'hang') return; // never answers: the check must time out
    res.writeHead(mode.status).end(req.url ?? '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const http = (over: Partial<HealthCheckSpec> = {}): HealthCheckSpec => ({
  kind: 'http',
  port,
  path: '/healthz',
  intervalMs: 20,
  timeoutMs: 300,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
  ...over,
});

function collect(m: HealthMonitor): HealthChange[] {
  const changes: HealthChange[] = [];
  m.on('change', (c) => changes.push(c));
  return changes;
}

describe('HealthMonitor', () => {
  it('counts 2xx and 3xx as healthy', async () => {
    for (const status of [200, 204, 302]) {
      mode = { status };
      const m = new HealthMonitor('i', '127.0.0.1', http());
      expect(await m.checkOnce()).toEqual({ ok: true, detail: `GET /healthz answered ${status}` });
      expect(m.status).toBe('healthy');
    }
  });

  it('checks a booting instance often until its first success, whatever its interval', async () => {
    mode = { status: 503 };
    const m = new HealthMonitor('i', '127.0.0.1', http({ intervalMs: 60_000, unhealthyThreshold: 3 }));
    const changes = collect(m);
    m.start();
    try {
      await new Promise((r) => setTimeout(r, 400));
      mode = { status: 200 };
      // With a 60 s interval, only the start probes can see the app come up this soon.
      await expect.poll(() => m.status, { timeout: 2_000, interval: 20 }).toBe('healthy');
      expect(changes.map((c) => c.status)).toEqual(['unhealthy', 'healthy']);
    } finally {
      m.stop();
    }
  });

  it('turns unhealthy on 500', async () => {
    mode = { status: 500 };
    const m = new HealthMonitor('i', '127.0.0.1', http());
    const changes = collect(m);
    expect((await m.checkOnce()).ok).toBe(false);
    expect(changes).toEqual([
      { instanceId: 'i', status: 'unhealthy', previous: 'unknown', detail: 'GET /healthz answered 500' },
    ]);
  });

  it('fails a check that gets no answer within the timeout', async () => {
    mode = 'hang';
    const m = new HealthMonitor('i', '127.0.0.1', http({ timeoutMs: 100 }));
    const t0 = Date.now();
    const r = await m.checkOnce();
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/no answer within 100 ms/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('flips only after the thresholds, and emits only on change', async () => {
    const m = new HealthMonitor('i', '127.0.0.1', http({ healthyThreshold: 2, unhealthyThreshold: 3 }));
    const changes = collect(m);
    mode = { status: 200 };
    await m.checkOnce();
    expect(m.status).toBe('unknown');
    await m.checkOnce();
    await m.checkOnce();
    expect(m.status).toBe('healthy');
    mode = { status: 503 };
    await m.checkOnce();
    await m.checkOnce();
    expect(m.status).toBe('healthy'); // two failures of three
    mode = { status: 200 };
    await m.checkOnce(); // a success resets the failure count
    mode = { status: 503 };
    for (let i = 0; i < 3; i++) await m.checkOnce();
    expect(m.status).toBe('unhealthy');
    expect(changes.map((c) => c.status)).toEqual(['healthy', 'unhealthy']);
  });

  it('checks TCP ports: open is healthy, closed unhealthy', async () => {
    const open = new HealthMonitor('i', '127.0.0.1', { ...http(), kind: 'tcp', port });
    expect((await open.checkOnce()).ok).toBe(true);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const m = new HealthMonitor('i', '127.0.0.1', { ...http(), kind: 'tcp', port: closedPort });
    const r = await m.checkOnce();
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/ECONNREFUSED/);
  });

  it('runs on its interval once started, and stops', async () => {
    mode = { status: 200 };
    const m = new HealthMonitor('i', '127.0.0.1', http({ healthyThreshold: 3 }));
    const healthy = new Promise<HealthChange>((r) => m.once('change', r));
    m.start();
    try {
      expect((await healthy).status).toBe('healthy');
    } finally {
      m.stop();
    }
  });
});
