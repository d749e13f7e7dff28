import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { route, startTestEdge, table } from '../test-edge.js';
import { Cleanup, startUpstream } from '../test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A ws echo server; records the handshake headers it saw. */
async function echoServer(): Promise<{ id: string; address: string; handshakes: IncomingHttpHeaders[] }> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const handshakes: IncomingHttpHeaders[] = [];
  wss.on('connection', (socket, req) => {
    handshakes.push(req.headers);
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { id: 'ws', address: `127.0.0.1:${(server.address() as AddressInfo).port}`, handshakes };
}

function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

describe('WebSocket through the edge', () => {
  it('echoes messages both ways and forwards X-Forwarded-* on the handshake', async () => {
    const upstream = await echoServer();
    const dead = await startUpstream('dead');
    await dead.close();
    const edge = await startTestEdge(cleanup);
    // A refused upstream first in the list: the tunnel retries on the live one.
    await edge.swap(table(1, route('ws.test', [dead, upstream])));
    const socket = await openSocket(`ws://127.0.0.1:${edge.httpPort}/chat`, { host: 'ws.test' });
    cleanup.add(() => socket.terminate());
    const replies: string[] = [];
    const gotAll = new Promise<void>((resolve) =>
      socket.on('message', (data: Buffer) => {
        replies.push(data.toString());
        if (replies.length === 3) resolve();
      }),
    );
    for (const text of ['one', 'two', 'x'.repeat(100_000)]) socket.send(text);
    await gotAll;
    expect(replies.slice(0, 2)).toEqual(['one', 'two']);
    expect(replies[2]).toHaveLength(100_000);
    expect(upstream.handshakes[0]).toMatchObject({
      host: 'ws.test',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'ws.test',
    });
    expect(upstream.handshakes[0]?.['x-request-id']).toBeTruthy();
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.close(1000);
    expect(await closed).toBe(1000);
  });

  it('answers 404 for an unknown host and 502 when no upstream accepts', async () => {
    const dead = await startUpstream('dead');
    await dead.close();
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('dead.test', [dead])));
    await expect(openSocket(`ws://127.0.0.1:${edge.httpPort}/`, { host: 'nope.test' })).rejects.toThrow(
      'status 404',
    );
    await expect(openSocket(`ws://127.0.0.1:${edge.httpPort}/`, { host: 'dead.test' })).rejects.toThrow(
      'status 502',
    );
  });
});
