import { connect as http2Connect } from 'node:http2';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { selfSignedCertificate } from '../test-certs.js';
import { edgeClient, route, startTestEdge, table, tempStateDir } from '../test-edge.js';
import { Cleanup, startUpstream, type EchoReply } from '../test-upstream.js';
import { staticCertificates } from './certificate-provider.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function peerCertificate(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('HTTPS', () => {
  it('serves each hostname its own certificate by SNI, the default only to names without one', async () => {
    const dir = await tempStateDir(cleanup);
    const [one, two, fallback] = await Promise.all(
      ['one.test', 'two.test', 'default.invalid'].map((name) => selfSignedCertificate(dir, name)),
    );
    const edge = await startTestEdge(cleanup, {
      httpsPort: 0,
      certificates: staticCertificates({
        default: fallback!,
        byHostname: { 'one.test': one!, 'two.test': two! },
      }),
    });
    const port = edge.httpsPort!;
    expect((await peerCertificate(port, 'one.test')).subject.CN).toBe('one.test');
    expect((await peerCertificate(port, 'TWO.test')).subject.CN).toBe('two.test');
    expect((await peerCertificate(port, 'two.test')).subjectaltname).toBe('DNS:two.test');
    expect((await peerCertificate(port, 'other.test')).subject.CN).toBe('default.invalid');
  });

  it('proxies HTTP/2 and HTTP/1.1 over TLS with X-Forwarded-Proto https', async () => {
    const dir = await tempStateDir(cleanup);
    const pem = await selfSignedCertificate(dir, 'app.test');
    const app = await startUpstream('a');
    cleanup.add(() => app.close());
    const edge = await startTestEdge(cleanup, {
      httpsPort: 0,
      certificates: staticCertificates({ default: pem, byHostname: { 'app.test': pem } }),
    });
    await edge.swap(table(1, route('app.test', [app])));

    const session = http2Connect(`https://127.0.0.1:${edge.httpsPort}`, {
      ca: pem.cert,
      servername: 'app.test',
    });
    cleanup.add(() => session.destroy());
    const { status, headers, body } = await new Promise<{
      status: number;
      headers: Record<string, unknown>;
      body: string;
    }>((resolve, reject) => {
      const stream = session.request({ ':authority': 'app.test', ':path': '/h2?x=1', ':method': 'POST' });
      stream.end('h2-body');
      let text = '';
      let responseHeaders: Record<string, unknown> = {};
      stream.on('response', (h) => (responseHeaders = h));
      stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      stream.on('end', () =>
        resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: text }),
      );
      stream.on('error', reject);
    });
    expect(status).toBe(200);
    const reply = JSON.parse(body) as EchoReply;
    expect(reply.url).toBe('/h2?x=1');
    expect(reply.bodyBytes).toBe(7);
    expect(reply.headers['x-forwarded-proto']).toBe('https');
    expect(reply.headers.host).toBe('app.test');
    expect(headers['x-request-id']).toBe(reply.headers['x-request-id']);

    // HTTP/1.1 over TLS (allowHTTP1), by ALPN fallback.
    const h1 = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect(
        {
          port: edge.httpsPort!,
          host: '127.0.0.1',
          servername: 'app.test',
          ca: pem.cert,
          ALPNProtocols: ['http/1.1'],
        },
        () => socket.write('GET /h1 HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(h1).toMatch(/^HTTP\/1\.1 200/);
    expect(h1).toContain('"x-forwarded-proto":"https"');
  });

  it('applies header limits and timeouts to HTTP/1.1 over TLS, and tunnels WebSocket over TLS', async () => {
    const dir = await tempStateDir(cleanup);
    const pem = await selfSignedCertificate(dir, 'app.test');
    const server = createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanup.add(() => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      server.close();
    });
    const edge = await startTestEdge(cleanup, {
      httpsPort: 0,
      maxHeaderSize: 2048,
      timeouts: { clientHeadersMs: 300 },
      certificates: staticCertificates({ default: pem }),
    });
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    await edge.swap(table(1, route('app.test', [{ id: 'ws', address }])));

    const exchange = (text: string, isDripped: boolean) =>
      new Promise<{ ms: number; response: string }>((resolve) => {
        const started = Date.now();
        const socket = tlsConnect(
          {
            port: edge.httpsPort!,
            host: '127.0.0.1',
            servername: 'app.test',
            ca: pem.cert,
            ALPNProtocols: ['http/1.1'],
          },
          () => {
            if (!isDripped) return socket.write(text);
            let i = 0;
            const drip = setInterval(() => {
              if (i < text.length && !socket.destroyed) socket.write(text[i++]!);
              else clearInterval(drip);
            }, 20);
          },
        );
        let response = '';
        socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
        socket.on('close', () => resolve({ ms: Date.now() - started, response }));
        socket.on('error', () => undefined);
      });
    const big = await exchange(
      `GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`,
      false,
    );
    expect(big.response).toMatch(/^HTTP\/1\.1 431/);
    const slow = await exchange(
      `GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`,
      true,
    );
    expect(slow.response).toMatch(/^HTTP\/1\.1 408/);
    expect(slow.ms).toBeLessThan(2_000);

    // ws hands unknown options to tls.connect; its types just do not list `servername`.
    const wsOptions = { headers: { host: 'app.test' }, servername: 'app.test', ca: pem.cert };
    const ws = new WebSocket(`wss://127.0.0.1:${edge.httpsPort}/`, wsOptions);
    cleanup.add(() => ws.terminate());
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('over tls'));
      ws.on('message', (data: Buffer) => resolve(data.toString()));
      ws.on('error', reject);
    });
    expect(echoed).toBe('over tls');
  });

  it('drains HTTP/2 on close: the stream in flight finishes after GOAWAY', async () => {
    const dir = await tempStateDir(cleanup);
    const pem = await selfSignedCertificate(dir, 'app.test');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const app = await startUpstream('slow', (_req, res) => {
      void held.then(() => res.end('finished'));
    });
    cleanup.add(() => app.close());
    const edge = await startTestEdge(cleanup, {
      httpsPort: 0,
      certificates: staticCertificates({ default: pem }),
    });
    await edge.swap(table(1, route('app.test', [app])));
    const session = http2Connect(`https://127.0.0.1:${edge.httpsPort}`, {
      ca: pem.cert,
      servername: 'app.test',
    });
    cleanup.add(() => session.destroy());
    session.on('error', () => undefined);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const answer = new Promise<string>((resolve, reject) => {
      const stream = session.request({ ':authority': 'app.test', ':path': '/' });
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      stream.on('end', () => resolve(text));
      stream.on('error', reject);
    });
    while (app.hits === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const closed = edge.close({ drainMs: 5_000 });
    await goaway;
    release();
    expect(await answer).toBe('finished');
    await closed;
  });

  it('redirects plain HTTP to HTTPS for hostnames with a certificate, but not ACME challenges', async () => {
    const dir = await tempStateDir(cleanup);
    const [own, fallback] = await Promise.all(
      ['secure.test', 'default.invalid'].map((name) => selfSignedCertificate(dir, name)),
    );
    const app = await startUpstream('a');
    cleanup.add(() => app.close());
    const edge = await startTestEdge(cleanup, {
      httpsPort: 0,
      certificates: staticCertificates({ default: fallback!, byHostname: { 'secure.test': own! } }),
    });
    await edge.swap({
      ...table(1, route('secure.test', [app]), route('plain.test', [app])),
      challenges: [{ token: 't1', key_authorization: 't1.k' }],
    });
    const client = edgeClient(cleanup, edge.httpPort);
    const get = (host: string, path: string) => client.request({ path, method: 'GET', headers: { host } });

    const redirected = await get('Secure.test:8080', '/a?b=1');
    expect(redirected.statusCode).toBe(308);
    expect(redirected.headers.location).toBe(`https://secure.test:${edge.httpsPort}/a?b=1`);
    await redirected.body.dump();
    const challenge = await get('secure.test', '/.well-known/acme-challenge/t1');
    expect(await challenge.body.text()).toBe('t1.k');
    const plain = await get('plain.test', '/');
    expect(plain.statusCode).toBe(200);
    await plain.body.dump();
  });

  it('refuses to start HTTPS without certificates', async () => {
    const stateDir = await tempStateDir(cleanup);
    await expect(startTestEdge(cleanup, { stateDir, httpsPort: 0 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'certificates',
    });
  });
});
