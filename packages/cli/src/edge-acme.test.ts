import { X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { Domain } from '@shellwego/core';
import { freePort, request, startPebble, startTestControlPlane } from '@shellwego/testkit';
import { startEdgeProcess, until } from '../../edge/src/test-edge-process.js';
import { Cleanup } from '../../edge/src/test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** The certificate a TLS client gets for `servername` from the edge, and whether it chains to `ca`. */
function handshake(
  port: number,
  servername: string,
  ca: string,
): Promise<{ authorized: boolean; serial: string; error: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerX509Certificate();
      resolve({
        authorized: socket.authorized,
        serial: peer?.serialNumber ?? '',
        error: socket.authorizationError === null ? null : String(socket.authorizationError),
      });
      socket.end();
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

function plainGet(port: number, host: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/some/path?q=1', headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ACME through the edge, end to end (control plane + `shellwego edge` + Pebble)', () => {
  it('answers Pebble’s HTTP-01 challenge, then serves the issued certificate by SNI and redirects HTTP', async () => {
    // Pebble validates HTTP-01 on the edge's HTTP port; its DNS (challtestsrv) resolves every name to 127.0.0.1.
    const httpPort = await freePort();
    const pebble = await startPebble({ httpPort });
    cleanup.add(() => pebble.stop());
    const cp = await startTestControlPlane({
      acme: {
        directoryUrl: pebble.directoryUrl,
        email: 'ops@example.com',
        caCertPem: pebble.listenerCertPem,
      },
    });
    cleanup.add(() => cp.close());
    const services = cp.controlPlane.services;
    const { token: edgeToken } = await services.auth.createApiToken(await services.auth.operator(), {
      name: 'edge (test)',
    });
    const edge = await startEdgeProcess({ api: cp.url, token: edgeToken, httpPort, logLevel: 'info' });
    cleanup.add(() => edge.stop());
    // The edge holds the control plane's watch before the domain is added, as in production.
    await until('the edge to watch the routes', async () =>
      /route table applied/.test(await edge.stderr()) ? true : undefined,
    );

    const token = await cp.adminToken();
    const app = `shop${Math.random().toString(36).slice(2, 8)}`;
    const hostname = `${app}.example.com`;
    expect((await request(cp.url, 'POST', '/v1/apps', { token, body: { name: app } })).status).toBe(201);
    const added = await request(cp.url, 'POST', `/v1/apps/${app}/domains`, { token, body: { hostname } });
    expect(added.status).toBe(201);
    const domain = await until(
      'the certificate to be issued',
      async () => {
        const list = (await request(cp.url, 'GET', `/v1/apps/${app}/domains`, { token })).body as {
          items: Domain[];
        };
        const d = list.items.find((item) => item.hostname === hostname);
        if (d?.tls_status === 'failed') throw new Error(`ACME failed: ${d.last_acme_error ?? ''}`);
        return d?.tls_status === 'active' ? d : undefined;
      },
      60_000,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\nedge:\n${await edge.stderr()}\npebble:\n${await pebble.log()}`, {
        cause: error,
      });
    });
    expect(domain.last_acme_error).toBeNull();
    // Pebble asked the edge for the challenge: it is in the edge's access log.
    expect(await edge.stderr()).toMatch(/"path":"\/\.well-known\/acme-challenge\/[^"]+","status":200/);

    const issued = (await services.certificates.edgeCertificates()).find((c) => c.hostname === hostname);
    expect(issued).toBeDefined();
    const serial = new X509Certificate(issued?.cert_pem ?? '').serialNumber;
    const root = await pebble.rootPem();
    // The edge fetches the new certificate set with the next route table; then SNI picks it.
    const served = await until('the edge to serve the issued certificate', async () => {
      const result = await handshake(edge.httpsPort, hostname, root);
      return result.serial === serial ? result : undefined;
    });
    expect(served).toEqual({ authorized: true, serial, error: null });

    // Plain HTTP for the domain now goes to HTTPS (an ACME certificate is publicly trusted).
    const redirect = await plainGet(edge.httpPort, hostname);
    expect(redirect).toEqual({
      status: 308,
      location: `https://${hostname}:${edge.httpsPort}/some/path?q=1`,
    });
  }, 180_000);
});
