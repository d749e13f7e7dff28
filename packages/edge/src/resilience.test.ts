import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pool } from 'undici';
import { edgeClient, route, startTestEdge, table, tempStateDir } from './test-edge.js';
import { Cleanup, startUpstream, type EchoReply, type TestUpstream } from './test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A raw keep-alive HTTP/1.1 connection: send a GET, read one whole response (the echo's JSON body). */
async function rawConnection(
  port: number,
): Promise<{ socket: Socket; get: () => Promise<string>; closed: Promise<number> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffer = '';
  let waiter: (() => void) | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => {
    buffer += data;
    waiter?.();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  const get = async (): Promise<string> => {
    socket.write('GET / HTTP/1.1\r\nHost: app.test\r\n\r\n');
    for (;;) {
      const head = buffer.indexOf('\r\n\r\n');
      const headers = head === -1 ? '' : buffer.slice(0, head);
      const length = Number(/^content-length: (\d+)/im.exec(headers)?.[1] ?? -1);
      // Chunked (the edge streams bodies): the response ends with the last, empty chunk.
      const end = length >= 0 ? head + 4 + length : buffer.indexOf('\r\n0\r\n\r\n', head) + 7;
      if (head !== -1 && end > head && buffer.length >= end) {
        buffer = buffer.slice(end);
        return headers;
      }
      await new Promise<void>((resolve) => (waiter = resolve));
    }
  };
  return { socket, get, closed };
}

async function upstreams(...ids: string[]): Promise<TestUpstream[]> {
  return Promise.all(
    ids.map(async (id) => {
      const server = await startUpstream(id);
      cleanup.add(() => server.close());
      return server;
    }),
  );
}

/** `total` GETs over `concurrency` keep-alive lanes; returns the statuses and which upstream served each. */
async function load(client: Pool, host: string, total: number, concurrency: number, method = 'GET') {
  const results: Array<{ status: number; id: string | undefined }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        try {
          const response = await client.request({
            path: '/',
            method,
            headers: { host },
            body: method === 'POST' ? 'payload' : null,
          });
          const text = await response.body.text();
          const id = response.statusCode === 200 ? (JSON.parse(text) as EchoReply).id : undefined;
          results.push({ status: response.statusCode, id });
        } catch {
          results.push({ status: 0, id: undefined });
        }
      }
    }),
  );
  return results;
}

describe('resilience', () => {
  it('swaps route tables under continuous load without a failed request', async () => {
    const [a1, a2, b1, b2] = await upstreams('a1', 'a2', 'b1', 'b2');
    const edge = await startTestEdge(cleanup);
    const setA = table(1, route('app.test', [a1!, a2!]));
    const setB = table(2, route('app.test', [b1!, b2!]));
    await edge.swap(setA);
    let isLoading = true;
    let swaps = 0;
    const swapper = (async () => {
      while (isLoading) {
        await new Promise((resolve) => setTimeout(resolve, 3));
        void edge.swap(++swaps % 2 === 1 ? setB : setA);
      }
    })();
    const results = await load(edgeClient(cleanup, edge.httpPort, 16), 'app.test', 2_000, 16);
    isLoading = false;
    await swapper;
    expect(swaps).toBeGreaterThan(20);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(['a1', 'a2', 'b1', 'b2']));
  });

  it('keeps serving when an upstream is killed mid-load, GET and POST alike', async () => {
    const [a, b, c] = await upstreams('a', 'b', 'c');
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [a!, b!, c!])));
    const client = edgeClient(cleanup, edge.httpPort, 16);
    const running = Promise.all([
      load(client, 'app.test', 1_500, 12),
      load(client, 'app.test', 500, 4, 'POST'),
    ]);
    while (b!.hits < 150) await new Promise((resolve) => setTimeout(resolve, 5));
    await b!.close();
    const [gets, posts] = await running;
    const hitsAfterKill = b!.hits;
    expect(hitsAfterKill).toBeLessThan(600); // it was killed mid-load, not after
    expect(gets.filter((r) => r.status !== 200)).toEqual([]);
    // A POST the killed upstream had already received may fail (never retried); only those.
    expect(posts.filter((r) => r.status !== 200).length).toBeLessThanOrEqual(4);
    const after = await load(client, 'app.test', 200, 8, 'POST');
    expect(after.filter((r) => r.status !== 200)).toEqual([]);
    expect(b!.hits).toBe(hitsAfterKill);
  });

  it('serves the last known routes after a restart with the same state dir and no swap', async () => {
    const [a] = await upstreams('a');
    const stateDir = await tempStateDir(cleanup);
    const first = await startTestEdge(cleanup, { stateDir });
    await first.swap(table(5, route('app.test', [a!])));
    await first.close({ drainMs: 0 });

    const second = await startTestEdge(cleanup, { stateDir });
    expect(second.revision).toBe(5);
    const response = await edgeClient(cleanup, second.httpPort).request({
      path: '/',
      method: 'GET',
      headers: { host: 'app.test' },
    });
    expect(response.statusCode).toBe(200);
    expect(((await response.body.json()) as EchoReply).id).toBe('a');
  });

  it('drains on close: requests in flight finish, new connections are refused', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = await startUpstream('slow', (_req, res) => {
      void held.then(() => res.end('finished'));
    });
    cleanup.add(() => slow.close());
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [slow])));
    const client = edgeClient(cleanup, edge.httpPort);
    const inFlight = client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
    while (slow.hits === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const closed = edge.close({ drainMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late = edgeClient(cleanup, edge.httpPort);
    await expect(late.request({ path: '/', method: 'GET', headers: { host: 'app.test' } })).rejects.toThrow();
    release();
    const response = await inFlight;
    expect(response.headers.connection).toBe('close');
    expect(await response.body.text()).toBe('finished');
    await closed;
  });

  it('drains keep-alive connections: the next request on one gets Connection: close, one left idle is closed', async () => {
    const [a] = await upstreams('a');
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [a!])));
    const busy = await rawConnection(edge.httpPort);
    const idle = await rawConnection(edge.httpPort);
    cleanup.add(() => busy.socket.destroy());
    cleanup.add(() => idle.socket.destroy());
    expect(await busy.get()).toMatch(/^HTTP\/1.1 200/);
    expect(await idle.get()).toMatch(/^HTTP\/1.1 200/);
    const closing = Date.now();
    const closed = edge.close({ drainMs: 5_000 });
    // A keep-alive client sending its next request just as the drain starts is served, and told to go.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const last = await busy.get();
    expect(last).toMatch(/^HTTP\/1.1 200/);
    expect(last).toMatch(/^connection: close$/im);
    const answeredAt = Date.now();
    await busy.closed;
    // The idle one is closed once it stayed idle a while, not at once (a request may be on its way).
    const idleClosedAt = await idle.closed;
    expect(idleClosedAt).toBeGreaterThan(answeredAt);
    expect(idleClosedAt - closing).toBeGreaterThanOrEqual(500);
    await closed;
  });

  it('closes connections left after drainMs', async () => {
    const hang = await startUpstream('hang', () => undefined);
    cleanup.add(() => hang.close());
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('app.test', [hang])));
    const inFlight = edgeClient(cleanup, edge.httpPort)
      .request({ path: '/', method: 'GET', headers: { host: 'app.test' } })
      .then(
        () => 'answered',
        () => 'cut off',
      );
    while (hang.hits === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    await edge.close({ drainMs: 200 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await inFlight).toBe('cut off');
  });
});
