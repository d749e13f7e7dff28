import { X509Certificate } from 'node:crypto';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import type { EdgeCertificate } from '@shellwego/core';
import { uniq, useApi } from '../../test-api.js';

/** True when a client trusting only `ca` accepts `cert` for `servername` (a real TLS handshake on 127.0.0.1). */
async function trusted(cert: string, key: string, ca: string, servername: string): Promise<boolean> {
  const server = createServer({ cert, key }, (socket) => socket.end());
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

describe.each(dialects)('certificates API on $name', ({ databaseUrl }) => {
  const api = useApi(databaseUrl);

  it('serves the local CA publicly and local-CA certificates for local names to platform admins', async () => {
    const ca = await api.call('GET', '/v1/edge/ca.pem', { token: null });
    expect(ca.status).toBe(200);
    expect(ca.headers.get('content-type')).toMatch(/^text\/plain/);
    const caPem = ca.body as string;
    expect(new X509Certificate(caPem).ca).toBe(true);

    const app = uniq('web');
    expect((await api.call('POST', '/v1/apps', { body: { name: app } })).status).toBe(201);
    const local = `${app}.test`;
    const added = await api.call('POST', `/v1/apps/${app}/domains`, { body: { hostname: local } });
    expect(added.body).toMatchObject({
      hostname: local,
      tls_status: 'pending',
      certificate_expires_at: null,
    });
    await expect
      .poll(async () => (await api.call('GET', `/v1/apps/${app}/domains`)).body, { timeout: 10_000 })
      .toMatchObject({
        items: [
          {
            hostname: local,
            tls_status: 'active',
            last_acme_error: null,
            certificate_expires_at: expect.any(String) as unknown,
          },
        ],
      });

    const res = await api.call('GET', '/v1/edge/certificates');
    expect(res.status).toBe(200);
    const items = (res.body as { items: EdgeCertificate[] }).items;
    // The custom domain, and the app's default hostname under the platform's local domain (issued on demand).
    for (const hostname of [local, `${app}.localhost`]) {
      const c = items.find((i) => i.hostname === hostname);
      expect(c, hostname).toBeDefined();
      expect(new X509Certificate(c!.cert_pem).subjectAltName).toBe(`DNS:${hostname}`);
      expect(await trusted(c!.cert_pem, c!.key_pem, caPem, hostname), hostname).toBe(true);
    }
    // Asked again, the same certificates come back (issued once, then stored).
    const again = (await api.call('GET', '/v1/edge/certificates')).body as { items: EdgeCertificate[] };
    expect(again.items.find((i) => i.hostname === local)?.cert_pem).toBe(
      items.find((i) => i.hostname === local)?.cert_pem,
    );

    // Removing the domain removes its certificate; deleting the app, its default hostname's.
    expect((await api.call('DELETE', `/v1/apps/${app}/domains/${local}`)).status).toBe(204);
    expect((await api.call('DELETE', `/v1/apps/${app}`)).status).toBe(204);
    const after = (await api.call('GET', '/v1/edge/certificates')).body as { items: EdgeCertificate[] };
    expect(after.items.map((i) => i.hostname)).not.toContain(local);
    expect(after.items.map((i) => i.hostname)).not.toContain(`${app}.localhost`);
  });

  it('keeps public domains pending, saying why, while ACME is not configured', async () => {
    const app = uniq('pub');
    const hostname = `${app}.example.com`;
    expect((await api.call('POST', '/v1/apps', { body: { name: app, domain: hostname } })).status).toBe(201);
    // Domains given at app creation are found by the sweep.
    await expect
      .poll(async () => (await api.call('GET', `/v1/apps/${app}/domains`)).body, { timeout: 15_000 })
      .toMatchObject({
        items: [{ hostname, tls_status: 'pending', last_acme_error: 'ACME is not configured' }],
      });
  });

  it('refuses the certificates (private keys) to anyone but platform admins', async () => {
    const owner = await api.member('owner');
    const res = await api.call('GET', '/v1/edge/certificates', { token: owner.token });
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).not.toContain('PRIVATE KEY');
    expect((await api.call('GET', '/v1/edge/certificates', { token: null })).status).toBe(401);
  });
});
