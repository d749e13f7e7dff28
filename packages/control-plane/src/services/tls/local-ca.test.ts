import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkServerIdentity, connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { openStore } from '../../store/db.js';
import type { StoreConfig } from '../../store/db.js';
import { Envelope } from '../envelope.js';
import { LocalCa } from './local-ca.js';
import { isLocalHostname } from './hostnames.js';

/** Serves `cert`/`key` on a real TLS socket and reports whether a client trusting `ca` accepts it for `servername`. */
async function handshake(
  cert: string,
  key: string,
  ca: string,
  servername: string,
  host = '127.0.0.1',
): Promise<{ authorized: boolean; error: string | undefined; nameMatches: boolean }> {
  const server = createServer({ cert, key }, (socket) => socket.end('hello'));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const socket = connect({ host, port, ca, servername, rejectUnauthorized: false }, () => {
        resolve({
          authorized: socket.authorized,
          // Set when the chain does not verify; `authorized` says nothing about the name, checked apart.
          error: socket.authorizationError ? String(socket.authorizationError) : undefined,
          nameMatches: checkServerIdentity(servername, socket.getPeerCertificate()) === undefined,
        });
        socket.end();
      });
      socket.on('error', reject);
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('isLocalHostname', () => {
  it('tells names no public CA can certify from public ones', () => {
    for (const h of [
      'localhost',
      'myapp.localhost',
      'printer.local',
      'app.test',
      'db.internal',
      '127.0.0.1',
      '::1',
    ])
      expect(isLocalHostname(h), h).toBe(true);
    for (const h of ['example.com', 'blog.customer.com', 'localhost.example.com', 'test.example.org'])
      expect(isLocalHostname(h), h).toBe(false);
  });
});

describe.each(dialects)('the local CA on $name', ({ name, databaseUrl }) => {
  it('is created once, kept sealed, and issues leaves that verify over TLS', async () => {
    const dir = await makeTempDir('swg-localca-');
    const url = await databaseUrl();
    const config: StoreConfig = url
      ? { kind: 'postgres', url }
      : { kind: 'sqlite', path: join(dir, 'ca.db') };
    const envelope = new Envelope(randomBytes(32));
    const now = new Date();
    const store = await openStore(config);
    try {
      const deps = { store, envelope, now: () => now };
      const ca = await LocalCa.load(deps);
      // A second load (restart, or a second server) finds the same CA instead of making another.
      expect((await LocalCa.load(deps)).certPem).toBe(ca.certPem);
      const caCert = new X509Certificate(ca.certPem);
      expect(caCert.ca).toBe(true);
      expect(new Date(caCert.validTo).getUTCFullYear()).toBe(now.getUTCFullYear() + 10);

      const leaf = await LocalCa.load(deps).then((c) => c.issue('myapp.localhost', now));
      const leafCert = new X509Certificate(leaf.certPem);
      expect(leafCert.subjectAltName).toBe('DNS:myapp.localhost');
      expect(leafCert.checkIssued(caCert)).toBe(true);
      expect(leafCert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
      expect(Math.round((leaf.notAfter.getTime() - Date.now()) / 86_400_000)).toBe(90);
      expect(await handshake(leaf.certPem, leaf.keyPem, ca.certPem, 'myapp.localhost')).toEqual({
        authorized: true,
        error: undefined,
        nameMatches: true,
      });
      // The SAN is the hostname and nothing else.
      expect((await handshake(leaf.certPem, leaf.keyPem, ca.certPem, 'other.localhost')).nameMatches).toBe(
        false,
      );

      const ip = await ca.issue('127.0.0.1', new Date());
      expect(new X509Certificate(ip.certPem).subjectAltName).toBe('IP Address:127.0.0.1');

      // The CA's key is in the store only sealed: unseal it to know what to look for, then grep the files.
      const row = await store.db
        .selectFrom('settings')
        .select('value')
        .where('key', '=', 'local_ca')
        .executeTakeFirstOrThrow();
      const stored = JSON.parse(row.value) as { cert_pem: string; key_sealed: string };
      const keyPem = envelope.decrypt(stored.key_sealed, 'settings:local_ca').toString('utf8');
      expect(keyPem).toContain('BEGIN PRIVATE KEY');
      expect(row.value).not.toContain('PRIVATE KEY');
      if (name === 'sqlite') {
        await store.close();
        const body = keyPem.replace(/-----[^-]+-----|\s/g, '');
        const files = (await readdir(dir)).filter((f) => f.startsWith('ca.db'));
        expect(files).toContain('ca.db');
        for (const f of files) {
          const bytes = await readFile(join(dir, f));
          expect(bytes.includes(body.slice(0, 40)), f).toBe(false);
          expect(bytes.includes(Buffer.from(body, 'base64')), f).toBe(false);
        }
      }
    } finally {
      await store.close().catch(() => undefined);
      await removeDir(dir);
    }
  });
});
