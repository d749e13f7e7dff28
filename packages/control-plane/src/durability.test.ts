import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { makeTempDir, onExitCleanup, removeDir, request } from '@shellwego/testkit';

const dist = resolve(fileURLToPath(import.meta.url), '../../dist/index.js');

interface Child {
  url: string;
  admin: { email: string; password: string } | null;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** The control plane in its own process (built dist), so it can really be killed. */
async function spawnControlPlane(
  dataDir: string,
  databaseUrl: string | undefined,
  tag: string,
): Promise<Child> {
  const out = join(dataDir, `${tag}.out`);
  const fd = openSync(out, 'w');
  const code = `
    const { startControlPlane } = await import(${JSON.stringify(dist)});
    const cp = await startControlPlane({ dataDir: ${JSON.stringify(dataDir)}, port: 0, logLevel: 'silent', rateLimit: null,
      ${databaseUrl ? `databaseUrl: ${JSON.stringify(databaseUrl)},` : ''} });
    console.log(JSON.stringify({ url: cp.url, admin: cp.firstAdmin }));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const unregister = onExitCleanup(() => child.kill('SIGKILL'));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = readFileSync(out, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('{'));
    if (line) {
      const info = JSON.parse(line) as { url: string; admin: Child['admin'] };
      return {
        ...info,
        kill: async (signal) => {
          child.kill(signal);
          await exited;
          unregister();
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`control plane did not start: ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(dialects)('a SIGKILL during a burst of writes on $name', ({ databaseUrl }) => {
  it('loses no acknowledged write and keeps the audit chain whole', async () => {
    const dataDir = await makeTempDir('swg-kill-');
    const url = await databaseUrl();
    let first: Child | undefined;
    let second: Child | undefined;
    try {
      first = await spawnControlPlane(dataDir, url, 'first');
      const admin = { email: first.admin!.email, password: first.admin!.password };
      const login = await request(first.url, 'POST', '/v1/auth/login', { body: admin });
      expect(login.status).toBe(200);
      const token = (login.body as { access_token: string }).access_token;

      const acked: string[] = [];
      const ackedSecrets: string[] = [];
      let stop = false;
      let n = 0;
      const writer = async (): Promise<void> => {
        while (!stop) {
          const name = `burst-${n++}`;
          try {
            const res = await request(first!.url, 'POST', '/v1/apps', {
              token,
              body: { name, env: { N: name } },
            });
            if (res.status === 201) {
              acked.push(name);
              const s = await request(first!.url, 'PUT', `/v1/apps/${name}/secrets/S`, {
                token,
                body: { value: name },
              });
              if (s.status === 200) ackedSecrets.push(name);
            }
          } catch {
            return; // the server is gone
          }
        }
      };
      const writers = Array.from({ length: 8 }, () => writer());
      // Kill once a good number of writes has been acknowledged, in the middle of the burst.
      const deadline = Date.now() + 20_000;
      while (acked.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await first.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      expect(acked.length).toBeGreaterThanOrEqual(40);

      second = await spawnControlPlane(dataDir, url, 'second');
      expect(second.admin).toBeNull();
      const token2 = (
        (await request(second.url, 'POST', '/v1/auth/login', { body: admin })).body as {
          access_token: string;
        }
      ).access_token;
      const names = new Set<string>();
      let cursor: string | null = null;
      do {
        const page = await request(
          second.url,
          'GET',
          `/v1/apps?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
          { token: token2 },
        );
        const body = page.body as {
          items: { name: string; env: { N: string } }[];
          next_cursor: string | null;
        };
        for (const a of body.items) {
          names.add(a.name);
          expect(a.env.N).toBe(a.name);
        }
        cursor = body.next_cursor;
      } while (cursor);
      const lost = acked.filter((a) => !names.has(a));
      expect(lost).toEqual([]);
      for (const name of ackedSecrets.slice(0, 20)) {
        const s = await request(second.url, 'GET', `/v1/apps/${name}/secrets`, { token: token2 });
        expect(s.body).toMatchObject({ items: [{ name: 'S', version: 1 }] });
      }
      const verify = await request(second.url, 'GET', '/v1/audit/verify', { token: token2 });
      expect(verify.body).toMatchObject({ ok: true });
    } finally {
      await first?.kill('SIGKILL').catch(() => undefined);
      await second?.kill('SIGTERM').catch(() => undefined);
      await removeDir(dataDir);
    }
  });
});
