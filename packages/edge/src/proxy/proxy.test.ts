import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { edgeClient, route, startTestEdge, table } from '../test-edge.js';
import { Cleanup, startUpstream, type EchoReply } from '../test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function upstream(id: string, handler?: Parameters<typeof startUpstream>[1]) {
  const server = await startUpstream(id, handler);
  cleanup.add(() => server.close());
  return server;
}

describe('proxying', () => {
  it('forwards GET and a streamed POST with X-Forwarded-* and a request id', async () => {
    const app = await upstream('a');
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [app])));
    const client = edgeClient(cleanup, edge.httpPort);

    const get = await client.request({
      path: '/hello?x=1',
      method: 'GET',
      headers: { host: 'App.Test:8080', 'x-forwarded-for': '10.0.0.1' },
    });
    const reply = (await get.body.json()) as EchoReply;
    expect(get.statusCode).toBe(200);
    expect(reply.url).toBe('/hello?x=1');
    expect(reply.headers.host).toBe('App.Test:8080');
    expect(reply.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(reply.headers['x-forwarded-proto']).toBe('http');
    expect(reply.headers['x-forwarded-host']).toBe('App.Test:8080');
    const requestId = reply.headers['x-request-id'];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(get.headers['x-request-id']).toBe(requestId);

    const chunks = Readable.from(
      (function* () {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, i);
      })(),
    );
    const post = await client.request({
      path: '/upload',
      method: 'POST',
      headers: { host: 'app.test', 'x-request-id': 'client-chosen.id-1' },
      body: chunks,
    });
    const posted = (await post.body.json()) as EchoReply;
    expect(posted.method).toBe('POST');
    expect(posted.bodyBytes).toBe(64 * 16 * 1024);
    expect(posted.headers['transfer-encoding']).toBe('chunked');
    expect(posted.headers['x-request-id']).toBe('client-chosen.id-1');
    expect(post.headers['x-request-id']).toBe('client-chosen.id-1');
  });

  it('relays HEAD, an empty POST and a 204 faithfully', async () => {
    const app = await upstream('a', (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/none') return res.writeHead(204).end();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
      });
    });
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [app])));
    const client = edgeClient(cleanup, edge.httpPort);
    const head = await client.request({ path: '/', method: 'HEAD', headers: { host: 'app.test' } });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(await head.body.text()).toBe('');
    const post = await client.request({
      path: '/',
      method: 'POST',
      headers: { host: 'app.test', 'content-length': '0' },
    });
    expect(await post.body.text()).toBe('hello');
    const none = await client.request({ path: '/none', method: 'DELETE', headers: { host: 'app.test' } });
    expect(none.statusCode).toBe(204);
    expect(await none.body.text()).toBe('');
  });

  it('answers ACME HTTP-01 challenges on any host and passes unknown tokens on', async () => {
    const app = await upstream('a');
    const edge = await startTestEdge(cleanup);
    await edge.swap({
      ...table(1, route('app.test', [app])),
      challenges: [{ token: 'tok-1', key_authorization: 'tok-1.thumbprint' }],
    });
    const client = edgeClient(cleanup, edge.httpPort);
    const get = (host: string, path: string) => client.request({ path, method: 'GET', headers: { host } });
    const known = await get('new-domain.test', '/.well-known/acme-challenge/tok-1');
    expect(known.statusCode).toBe(200);
    expect(await known.body.text()).toBe('tok-1.thumbprint');
    const unknownHost = await get('new-domain.test', '/.well-known/acme-challenge/other');
    expect(unknownHost.statusCode).toBe(404);
    await unknownHost.body.dump();
    const toApp = await get('app.test', '/.well-known/acme-challenge/other');
    expect(((await toApp.body.json()) as EchoReply).url).toBe('/.well-known/acme-challenge/other');
    expect(app.hits).toBe(1);
  });

  it('holds a request for an ACME token not known yet until a table brings it, briefly', async () => {
    const edge = await startTestEdge(cleanup, { acmeChallengeWaitMs: 1_000 });
    await edge.swap(table(1));
    const client = edgeClient(cleanup, edge.httpPort);
    const get = (path: string) => client.request({ path, method: 'GET', headers: { host: 'new.test' } });
    // The CA asks before the table with its token arrived (it is on its way from the control plane).
    const early = get('/.well-known/acme-challenge/tok-2');
    await new Promise((resolve) => setTimeout(resolve, 100));
    edge.answerChallenges({ revision: 2, challenges: [{ token: 'tok-2', key_authorization: 'tok-2.k' }] });
    const answered = await early;
    expect(answered.statusCode).toBe(200);
    expect(await answered.body.text()).toBe('tok-2.k');
    // An older table swapped in later (it waited for certificates) does not take the newer token away.
    await edge.swap(table(1));
    expect(await (await get('/.well-known/acme-challenge/tok-2')).body.text()).toBe('tok-2.k');
    // A token that never comes goes on like any path once the wait is over.
    const started = Date.now();
    const unknown = await get('/.well-known/acme-challenge/never');
    expect(unknown.statusCode).toBe(404);
    await unknown.body.dump();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('answers 404 for an unknown host and 503 for a route without usable upstreams', async () => {
    const app = await upstream('a');
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('empty.test', []), route('drained.test', [app], [0])));
    const client = edgeClient(cleanup, edge.httpPort);
    for (const [host, status] of [
      ['nope.test', 404],
      ['empty.test', 503],
      ['drained.test', 503],
    ] as const) {
      const response = await client.request({ path: '/', method: 'GET', headers: { host } });
      const page = await response.body.text();
      expect(response.statusCode).toBe(status);
      expect(page).toContain(String(status));
      expect(page).toContain(String(response.headers['x-request-id']));
      expect(page).not.toMatch(/at \w+ \(|Error:/);
    }
    expect(app.hits).toBe(0);
  });

  it('answers 502 when no upstream accepts a connection, 504 when headers are late', async () => {
    const dead = await upstream('dead');
    await dead.close();
    const slow = await upstream('slow', (_req, res) => {
      setTimeout(() => res.end('late'), 3_000).unref();
    });
    const edge = await startTestEdge(cleanup, { timeouts: { upstreamHeadersMs: 200 } });
    await edge.swap(table(1, route('dead.test', [dead]), route('slow.test', [slow])));
    const client = edgeClient(cleanup, edge.httpPort);

    const refused = await client.request({
      path: '/',
      method: 'POST',
      headers: { host: 'dead.test' },
      body: 'x',
    });
    expect(refused.statusCode).toBe(502);
    expect(await refused.body.text()).toContain('Bad Gateway');

    const started = Date.now();
    const late = await client.request({ path: '/', method: 'GET', headers: { host: 'slow.test' } });
    expect(late.statusCode).toBe(504);
    expect(await late.body.text()).toContain('Gateway Timeout');
    // undici's timers are coarse (up to ~1 s late), so only check it did not wait for the app's answer.
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(slow.hits).toBe(1); // never retried: the app has the request
  });

  it('spreads concurrent requests to the least busy upstream and respects weight 0', async () => {
    const slowHandler = (id: string) =>
      upstream(id, (_req, res) => {
        setTimeout(() => res.end(id), 30).unref();
      });
    const [a, b, c] = await Promise.all([slowHandler('a'), slowHandler('b'), slowHandler('c')]);
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [a, b, c], [1, 1, 0])));
    const client = edgeClient(cleanup, edge.httpPort, 20);
    const bodies = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
        return response.body.text();
      }),
    );
    const counts = { a: 0, b: 0, c: 0 };
    for (const body of bodies) counts[body as 'a' | 'b' | 'c']++;
    expect(counts.c).toBe(0);
    expect(Math.abs(counts.a - counts.b)).toBeLessThanOrEqual(4);
  });

  it('lets a request in flight on a drained (weight 0) upstream finish', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const a = await upstream('a', (_req, res) => {
      void held.then(() => res.end('a-done'));
    });
    const b = await upstream('b');
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [a])));
    const client = edgeClient(cleanup, edge.httpPort);
    const inFlight = client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
    await waitFor(() => a.hits === 1);
    await edge.swap(table(2, route('app.test', [a, b], [0, 1])));
    const next = await client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
    expect(((await next.body.json()) as EchoReply).id).toBe('b');
    release();
    expect(await (await inFlight).body.text()).toBe('a-done');
  });

  it('retries a refused connection on another upstream, even for POST, and skips the dead one afterwards', async () => {
    const dead = await upstream('dead');
    await dead.close();
    const live = await upstream('live');
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [dead, live])));
    const client = edgeClient(cleanup, edge.httpPort);
    for (let i = 0; i < 6; i++) {
      const response = await client.request({
        path: '/',
        method: 'POST',
        headers: { host: 'app.test' },
        body: 'hi',
      });
      expect(response.statusCode).toBe(200);
      expect(((await response.body.json()) as EchoReply).bodyBytes).toBe(2);
    }
    const metrics = await edge.metricsRegistry.getSingleMetricAsString(
      'shellwego_edge_upstream_errors_total',
    );
    expect(metrics).toContain('shellwego_edge_upstream_errors_total{app="app",kind="connect"} 1');
  });

  it('does not retry a POST whose connection broke after the app got it', async () => {
    const a = await upstream('a', (req) => req.socket.destroy());
    const b = await upstream('b', (req) => req.socket.destroy());
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [a, b])));
    const client = edgeClient(cleanup, edge.httpPort);
    const post = await client.request({
      path: '/',
      method: 'POST',
      headers: { host: 'app.test' },
      body: 'x',
    });
    expect(post.statusCode).toBe(502);
    await post.body.dump();
    expect(a.hits + b.hits).toBe(1);
    const get = await client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
    expect(get.statusCode).toBe(502);
    await get.body.dump();
  });

  it('limits the request rate per client address with 429 and Retry-After', async () => {
    const app = await upstream('a');
    const edge = await startTestEdge(cleanup, { rateLimit: { ratePerSecond: 1, burst: 3 } });
    await edge.swap(table(1, route('app.test', [app])));
    const client = edgeClient(cleanup, edge.httpPort);
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 5; i++) {
      const response = await client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
      statuses.push(response.statusCode);
      if (response.statusCode === 429) retryAfter = response.headers['retry-after'];
      await response.body.dump();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(retryAfter).toBe('1');
  });

  it('refuses an oversized request head with 431', async () => {
    const app = await upstream('a');
    const edge = await startTestEdge(cleanup, { maxHeaderSize: 2048 });
    await edge.swap(table(1, route('app.test', [app])));
    const raw = await rawRequest(
      edge.httpPort,
      `GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 431/);
    expect(app.hits).toBe(0);
  });

  it('cuts off a client sending headers one byte at a time while serving others', async () => {
    const app = await upstream('a');
    const edge = await startTestEdge(cleanup, { timeouts: { clientHeadersMs: 400 } });
    await edge.swap(table(1, route('app.test', [app])));
    const slow = connect(edge.httpPort, '127.0.0.1');
    cleanup.add(() => slow.destroy());
    let received = '';
    slow.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    const head = 'GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ' + 'a'.repeat(100);
    let i = 0;
    const drip = setInterval(() => {
      if (i < head.length && !slow.destroyed) slow.write(head[i++]!);
    }, 20);
    cleanup.add(() => clearInterval(drip));

    const client = edgeClient(cleanup, edge.httpPort);
    const started = Date.now();
    for (let n = 0; n < 10; n++) {
      const response = await client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    }
    await slowClosed;
    clearInterval(drip);
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
    expect(app.hits).toBe(10);
  });

  it('writes a JSON access log line and counts requests per app and status class', async () => {
    const app = await upstream('a');
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    const registry = new Registry();
    const edge = await startTestEdge(cleanup, { logger: pino(sink), metricsRegistry: registry });
    await edge.swap(table(1, route('app.test', [app])));
    const client = edgeClient(cleanup, edge.httpPort);
    const response = await client.request({ path: '/p?q=1', method: 'GET', headers: { host: 'app.test' } });
    const body = await response.body.text();
    await (await client.request({ path: '/', method: 'GET', headers: { host: 'x.test' } })).body.dump();
    await waitFor(() => lines.filter((line) => line.msg === 'request').length === 2);
    const access = lines.find((line) => line.msg === 'request' && line.host === 'app.test');
    expect(access).toMatchObject({
      method: 'GET',
      path: '/p?q=1',
      status: 200,
      upstream: app.address,
      request_id: response.headers['x-request-id'],
      bytes: Buffer.byteLength(body),
    });
    expect(typeof access?.duration_ms).toBe('number');
    const text = await registry.metrics();
    expect(text).toContain('shellwego_edge_requests_total{app="app",status_class="2xx"} 1');
    expect(text).toContain('shellwego_edge_requests_total{app="-",status_class="4xx"} 1');
    expect(text).toContain('shellwego_edge_request_duration_seconds_count{app="app"} 1');
    expect(text).toMatch(/shellwego_edge_active_connections [1-9]/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}
