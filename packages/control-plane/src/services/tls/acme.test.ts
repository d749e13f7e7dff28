import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect, createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import acme from 'acme-client';
import { dialects } from '@shellwego/testkit/vitest';
import { request, startPebble, startTestControlPlane } from '@shellwego/testkit';
import type { PebbleServer, TestControlPlane } from '@shellwego/testkit';
import type { Domain } from '@shellwego/core';
import { uniq } from '../../test-api.js';

// A refused connection is an answer here, not something to retry 5 times with growing sleeps (TESTING.md §3).
// Cast: acme-client adds `acmeSettings` to its axios instance's defaults but does not declare it.
(
  acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }
).acmeSettings.retryMaxAttempts = 0;

let pebble: PebbleServer;
beforeAll(async () => {
  pebble = await startPebble();
}, 60_000);
afterAll(async () => {
  await pebble?.stop();
});

/**
 * Stands in for the edge: answers Pebble's HTTP-01 requests with what the control plane published. `hold` delays
 * answers until released (to observe `issuing`); hostnames in `lie` get a wrong key authorization.
 */
async function startResponder(
  port: number,
  keyAuthorization: (token: string) => Promise<string | undefined>,
): Promise<{ server: Server; hold: () => () => void; lie: Set<string> }> {
  let gate: Promise<void> = Promise.resolve();
  const lie = new Set<string>();
  const server = createServer((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([^/]+)$/.exec(req.url ?? '')?.[1];
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    void gate.then(async () => {
      const answer = token === undefined ? undefined : await keyAuthorization(token);
      if (answer === undefined) res.writeHead(404).end('no such challenge');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(lie.has(host) ? `${answer}x` : answer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    server,
    lie,
    hold: () => {
      let release = (): void => undefined;
      gate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
  };
}

async function chainsTo(certPem: string, keyPem: string, ca: string, servername: string): Promise<boolean> {
  const server = createTlsServer({ cert: certPem, key: keyPem }, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ca, servername }, () => {
        resolve(socket.authorized);
        socket.end();
      });
      socket.on('error', () => resolve(false));
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe.each(dialects)('ACME issuance against Pebble on $name', ({ databaseUrl }) => {
  let cp: TestControlPlane;
  let token: string;
  let responder: Awaited<ReturnType<typeof startResponder>>;
  let clockOffsetMs = 0;

  beforeAll(async () => {
    const url = await databaseUrl();
    cp = await startTestControlPlane(
      {
        ...(url ? { databaseUrl: url } : {}),
        acme: {
          directoryUrl: pebble.directoryUrl,
          email: 'ops@example.com',
          caCertPem: pebble.listenerCertPem,
        },
      },
      { now: () => new Date(Date.now() + clockOffsetMs) },
    );
    token = await cp.adminToken();
    responder = await startResponder(pebble.httpPort, (t) =>
      cp.controlPlane.services.certificates.keyAuthorization(t),
    );
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => responder?.server.close(() => resolve()));
    await cp?.close();
  });

  const domains = async (app: string): Promise<Domain[]> =>
    ((await request(cp.url, 'GET', `/v1/apps/${app}/domains`, { token })).body as { items: Domain[] }).items;

  it('orders a certificate for a new public domain: pending → issuing → active, chained to Pebble', async () => {
    const app = uniq('shop');
    const hostname = `${app}.example.com`;
    expect((await request(cp.url, 'POST', '/v1/apps', { token, body: { name: app } })).status).toBe(201);
    const release = responder.hold();
    try {
      const added = await request(cp.url, 'POST', `/v1/apps/${app}/domains`, { token, body: { hostname } });
      expect(added.body).toMatchObject({ hostname, tls_status: 'pending' });
      // While Pebble validates (held by the responder), the challenge is published for the edges.
      await expect
        .poll(async () => (await cp.controlPlane.services.certificates.challenges()).length, {
          timeout: 20_000,
        })
        .toBe(1);
      expect((await domains(app))[0]?.tls_status).toBe('issuing');
    } finally {
      release();
    }
    await expect
      .poll(async () => (await domains(app))[0], { timeout: 30_000 })
      .toMatchObject({ tls_status: 'active', last_acme_error: null });
    expect(await cp.controlPlane.services.certificates.challenges()).toEqual([]);

    const edge = await cp.controlPlane.services.certificates.edgeCertificates();
    const cert = edge.find((c) => c.hostname === hostname)!;
    const leaf = new X509Certificate(cert.cert_pem);
    expect(leaf.subjectAltName).toBe(`DNS:${hostname}`);
    expect(leaf.checkPrivateKey(createPrivateKey(cert.key_pem))).toBe(true);
    expect(await chainsTo(cert.cert_pem, cert.key_pem, await pebble.rootPem(), hostname)).toBe(true);
    expect((await domains(app))[0]?.certificate_expires_at).toBe(cert.not_after);

    // Renewal: 29 days before expiry (inside the 30-day window) the sweep orders a new certificate.
    const notAfter = new Date(cert.not_after).getTime();
    clockOffsetMs = notAfter - 29 * 86_400_000 - Date.now();
    try {
      await cp.controlPlane.services.certificates.sweep();
      const renewed = (await cp.controlPlane.services.certificates.edgeCertificates()).find(
        (c) => c.hostname === hostname,
      )!;
      expect(renewed.cert_pem).not.toBe(cert.cert_pem);
      expect(new X509Certificate(renewed.cert_pem).serialNumber).not.toBe(leaf.serialNumber);
      expect(await chainsTo(renewed.cert_pem, renewed.key_pem, await pebble.rootPem(), hostname)).toBe(true);
    } finally {
      clockOffsetMs = 0;
    }
    // Far from expiry, a sweep leaves it alone.
    const before = await cp.controlPlane.services.certificates.edgeCertificates();
    await cp.controlPlane.services.certificates.sweep();
    expect(await cp.controlPlane.services.certificates.edgeCertificates()).toEqual(before);
  }, 90_000);

  it('marks the domain failed with the CA’s reason when validation fails', async () => {
    const app = uniq('bad');
    const hostname = `${app}.example.com`;
    responder.lie.add(hostname);
    expect((await request(cp.url, 'POST', '/v1/apps', { token, body: { name: app } })).status).toBe(201);
    await request(cp.url, 'POST', `/v1/apps/${app}/domains`, { token, body: { hostname } });
    await expect.poll(async () => (await domains(app))[0]?.tls_status, { timeout: 30_000 }).toBe('failed');
    const error = (await domains(app))[0]?.last_acme_error ?? '';
    expect(error).toMatch(/key authorization/i);
    expect(error).not.toMatch(/\n\s+at /);
    const edge = await cp.controlPlane.services.certificates.edgeCertificates();
    expect(edge.map((c) => c.hostname)).not.toContain(hostname);
  }, 60_000);
});
