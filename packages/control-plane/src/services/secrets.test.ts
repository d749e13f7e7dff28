import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import pg from 'pg';
import { dialects } from '@shellwego/testkit/vitest';
import { makeTempDir, removeDir, request, startTestControlPlane } from '@shellwego/testkit';
import { uniq, useApi } from '../test-api.js';

const SECRET = 'sovereign-topsecret-value-4b1d';

describe.each(dialects)('secrets on $name', ({ name: dialect, databaseUrl }) => {
  let url: string | undefined;
  const api = useApi(async () => (url = await databaseUrl()));

  it('stores values sealed, returns names and versions only, and versions each change', async () => {
    const app = uniq('sec');
    await api.call('POST', '/v1/apps', { body: { name: app } });
    const put = await api.call('PUT', `/v1/apps/${app}/secrets/SOVEREIGN_KEY`, { body: { value: SECRET } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'SOVEREIGN_KEY', version: 1 });
    expect(JSON.stringify(put.body)).not.toContain(SECRET);
    const again = await api.call('PUT', `/v1/apps/${app}/secrets/SOVEREIGN_KEY`, {
      body: { value: `${SECRET}-2` },
    });
    expect(again.body).toMatchObject({ version: 2 });
    const list = await api.call('GET', `/v1/apps/${app}/secrets`);
    expect(list.body).toEqual({ items: [expect.objectContaining({ name: 'SOVEREIGN_KEY', version: 2 })] });
    expect(JSON.stringify(list.body)).not.toContain(SECRET);
    const audit = await api.call('GET', '/v1/audit');
    expect(JSON.stringify(audit.body)).not.toContain(SECRET);

    // At rest: the bytes of the store never hold the value.
    if (dialect === 'sqlite') {
      for (const f of ['shellwego.db', 'shellwego.db-wal']) {
        const path = join(api.cp.dataDir, f);
        if (existsSync(path)) expect(readFileSync(path).includes(Buffer.from(SECRET))).toBe(false);
      }
    } else {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const rows = await client.query<{ ciphertext: string }>('SELECT ciphertext FROM secrets');
        expect(rows.rows.length).toBeGreaterThan(0);
        for (const r of rows.rows) expect(r.ciphertext).not.toContain(SECRET);
      } finally {
        await client.end();
      }
    }

    // Only the instance-spec path decrypts, and that read is audited.
    const appId = ((await api.call('GET', `/v1/apps/${app}`)).body as { id: string }).id;
    const revealed = await api.cp.controlPlane.services.secrets.revealForInstance(appId, 'test');
    expect(revealed).toEqual({ SOVEREIGN_KEY: `${SECRET}-2` });
    const after = (await api.call('GET', '/v1/audit')).body as { items: { action: string }[] };
    expect(after.items.at(-1)?.action).toBe('secret.reveal');

    expect((await api.call('DELETE', `/v1/apps/${app}/secrets/SOVEREIGN_KEY`)).status).toBe(204);
    expect((await api.call('DELETE', `/v1/apps/${app}/secrets/SOVEREIGN_KEY`)).status).toBe(404);
  });
});

describe('secrets in logs', () => {
  it('never writes a secret value or a password to the log, even at trace level', async () => {
    const dir = await makeTempDir('swg-log-');
    const logFile = join(dir, 'cp.log');
    const logger = pino({ level: 'trace' }, pino.destination({ dest: logFile, sync: true }));
    const { startControlPlane } = await import('../main.js');
    const cp = await startControlPlane({ dataDir: join(dir, 'data'), port: 0, rateLimit: null }, { logger });
    try {
      const admin = cp.firstAdmin!;
      const login = await request(cp.url, 'POST', '/v1/auth/login', {
        body: { email: admin.email, password: admin.password },
      });
      const token = (login.body as { access_token: string }).access_token;
      await request(cp.url, 'POST', '/v1/apps', { token, body: { name: 'logged' } });
      await request(cp.url, 'PUT', '/v1/apps/logged/secrets/K', { token, body: { value: SECRET } });
      await request(cp.url, 'PUT', '/v1/apps/logged/secrets/K', {
        token: 'Bearer-garbage',
        body: { value: SECRET },
      });
      const log = readFileSync(logFile, 'utf8');
      expect(log.length).toBeGreaterThan(100);
      expect(log).not.toContain(SECRET);
      expect(log).not.toContain(admin.password);
      expect(log).not.toContain(token);
    } finally {
      await cp.close();
      await removeDir(dir);
    }
  });
});

describe('a fresh store', () => {
  it('creates the master key with mode 0600 and refuses to start with another key', async () => {
    const cp = await startTestControlPlane();
    const keyPath = join(cp.dataDir, 'master.key');
    const { statSync } = await import('node:fs');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const dataDir = cp.dataDir;
    await cp.controlPlane.close();
    const { startControlPlane } = await import('../main.js');
    await expect(
      startControlPlane({
        dataDir,
        port: 0,
        logLevel: 'silent',
        masterKey: Buffer.alloc(32, 7).toString('base64'),
      }),
    ).rejects.toThrow(/not the one this database was sealed with/);
    await expect(
      startControlPlane({ dataDir, port: 0, logLevel: 'silent', masterKey: 'short' }),
    ).rejects.toThrow(/SHELLWEGO_MASTER_KEY must be 32 bytes/);
    // With its own key it starts again, keeps its data, and creates no second admin.
    const again = await startControlPlane({ dataDir, port: 0, logLevel: 'silent' });
    expect(again.firstAdmin).toBeNull();
    const login = await request(again.url, 'POST', '/v1/auth/login', {
      body: { email: cp.admin.email, password: cp.admin.password },
    });
    expect(login.status).toBe(200);
    await again.close();
    await removeDir(dataDir);
  });
});
