import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../test-certs.js';
import { startTestEdge, tempStateDir } from '../test-edge.js';
import { Cleanup } from '../test-upstream.js';
import { CertificateStore } from './certificate-store.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const logger = pino({ level: 'silent' });

function subjectOf(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('CertificateStore', () => {
  it('serves the control plane set by SNI, swaps it, and keeps it across a restart', async () => {
    const dir = await tempStateDir(cleanup);
    const [fallback, one, wild] = await Promise.all(
      ['default.invalid', 'one.test', '*.apps.test'].map((name) => selfSignedCertificate(dir, name)),
    );
    const item = (hostname: string, pem: typeof one) => ({
      hostname,
      cert_pem: String(pem!.cert),
      key_pem: String(pem!.key),
      not_after: '2030-01-01T00:00:00Z',
      // Publicly trusted (ACME) certificates redirect plain HTTP; a local CA's do not.
      redirect_https: hostname === 'one.test',
    });
    const stateDir = join(dir, 'state');
    const store = new CertificateStore({ stateDir, defaultCertificate: fallback!, logger });
    await store.replace(3, [
      item('one.test', one),
      item('*.apps.test', wild),
      { ...item('broken.test', one), key_pem: 'not a key' },
    ]);
    expect((await stat(join(stateDir, 'certificates.json'))).mode & 0o777).toBe(0o600);

    const edge = await startTestEdge(cleanup, { httpsPort: 0, certificates: store });
    expect(await subjectOf(edge.httpsPort!, 'one.test')).toBe('one.test');
    expect(await subjectOf(edge.httpsPort!, 'x.apps.test')).toBe('*.apps.test');
    expect(await subjectOf(edge.httpsPort!, 'broken.test')).toBe('default.invalid');
    expect([
      store.redirects('one.test'),
      store.redirects('x.apps.test'),
      store.redirects('none.test'),
    ]).toEqual([true, false, false]);

    await store.replace(4, [item('*.apps.test', wild)]);
    expect(await subjectOf(edge.httpsPort!, 'one.test')).toBe('default.invalid');

    const restarted = new CertificateStore({ stateDir, defaultCertificate: fallback!, logger });
    expect(await restarted.load()).toBe(true);
    expect(restarted.revision).toBe(4);
    expect(restarted.contextFor('y.apps.test')).toBeDefined();
    expect(restarted.contextFor('one.test')).toBeUndefined();
  });
});
