import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { request, startTestControlPlane } from '@shellwego/testkit';
import type { TestControlPlane } from '@shellwego/testkit';
import { uniq } from '../../test-api.js';

const DAY_MS = 86_400_000;

describe.each(dialects)('certificate renewal on $name', ({ databaseUrl }) => {
  let cp: TestControlPlane;
  let clockOffsetMs = 0;
  beforeAll(async () => {
    const url = await databaseUrl();
    cp = await startTestControlPlane(url ? { databaseUrl: url } : {}, {
      now: () => new Date(Date.now() + clockOffsetMs),
    });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('renews local-CA certificates within 30 days of expiry, and only then', async () => {
    const token = await cp.adminToken();
    const app = uniq('renew');
    const hostname = `${app}.localhost`;
    const custom = `${app}.internal`;
    expect((await request(cp.url, 'POST', '/v1/apps', { token, body: { name: app } })).status).toBe(201);
    await request(cp.url, 'POST', `/v1/apps/${app}/domains`, { token, body: { hostname: custom } });
    const certs = cp.controlPlane.services.certificates;
    await certs.sweep();
    const first = await certs.edgeCertificates();
    const pick = (list: typeof first, h: string): string => list.find((c) => c.hostname === h)!.cert_pem;

    // 59 days on (31 left): nothing to do.
    clockOffsetMs = 59 * DAY_MS;
    await certs.sweep();
    expect(await certs.edgeCertificates()).toEqual(first);

    // 61 days on (29 left): both the custom domain's and the default hostname's certificates are new.
    clockOffsetMs = 61 * DAY_MS;
    await certs.sweep();
    const renewed = await certs.edgeCertificates();
    for (const h of [hostname, custom]) {
      expect(pick(renewed, h), h).not.toBe(pick(first, h));
      const notAfter = new Date(new X509Certificate(pick(renewed, h)).validTo).getTime();
      expect(Math.round((notAfter - Date.now()) / DAY_MS), h).toBe(61 + 90);
    }
  });
});
