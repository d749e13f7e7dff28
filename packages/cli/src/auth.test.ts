import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@shellwego/testkit';
import { expectErrorLine, expectSuccess, startCliSession } from './test-session.js';
import type { CliSession } from './test-session.js';

let s: CliSession;
let clockOffsetMs = 0;

beforeAll(async () => {
  s = await startCliSession({ now: () => new Date(Date.now() + clockOffsetMs) });
});
afterAll(async () => {
  await s?.close();
});

describe('shellwego login, whoami, logout', () => {
  it('logs in with the password from stdin and saves the session privately', async () => {
    const r = await s.login();
    expectSuccess(r);
    expect(r.stdout).toBe(`logged in to ${s.cp.url} as ${s.cp.admin.email}\n`);
    expect(r.stdout).not.toContain(s.cp.admin.password);

    const saved = JSON.parse(await s.savedConfig()) as Record<string, string>;
    expect(Object.keys(saved).sort()).toEqual(['access_token', 'refresh_token', 'url']);
    expect(saved.url).toBe(s.cp.url);
    expect(JSON.stringify(saved)).not.toContain(s.cp.admin.password);
    expect((await stat(s.configFile)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(s.configFile))).mode & 0o777).toBe(0o700);

    const who = await s.cli(['whoami']);
    expectSuccess(who);
    expect(who.stdout).toMatch(
      new RegExp(`^${s.cp.admin.email} \\(platform admin\\)\\nORG\\s+ROLE\\nmain\\s+owner\\n$`),
    );
    const json = JSON.parse((await s.cli(['whoami', '--json'])).stdout) as { email: string };
    expect(json.email).toBe(s.cp.admin.email);
  });

  it('rejects a wrong password with one line', async () => {
    const r = await s.cli(['login', '--url', s.cp.url, '--email', s.cp.admin.email], { input: 'wrong\n' });
    const line = expectErrorLine(r, 'INVALID_CREDENTIALS');
    expect(line).toBe('error: wrong e-mail or password (INVALID_CREDENTIALS)');
  });

  it('refreshes an expired access token and saves the new pair', async () => {
    expectSuccess(await s.login());
    const before = JSON.parse(await s.savedConfig()) as Record<string, string>;
    clockOffsetMs += 16 * 60 * 1000; // past the 15 min access token lifetime
    try {
      const r = await s.cli(['apps', 'ls']);
      expectSuccess(r);
      const after = JSON.parse(await s.savedConfig()) as Record<string, string>;
      expect(after.url).toBe(before.url);
      expect(after.access_token).not.toBe(before.access_token);
      expect(after.refresh_token).not.toBe(before.refresh_token);
      expect((await stat(s.configFile)).mode & 0o777).toBe(0o600);
      expectSuccess(await s.cli(['whoami']));
    } finally {
      clockOffsetMs -= 16 * 60 * 1000;
    }
  });

  it('creates, lists and revokes API tokens; SHELLWEGO_URL and SHELLWEGO_TOKEN work without a saved session', async () => {
    expectSuccess(await s.login());
    const created = await s.cli(['tokens', 'create', 'ci', '--scope', 'apps:read:*', 'orgs:read:*']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^swg_\S+$/);
    expect(created.stderr).toMatch(/^created token ci \(\S+\); it is shown only this once:\n$/);

    const ls = await s.cli(['tokens', 'ls', '--json']);
    const items = JSON.parse(ls.stdout) as { id: string; name: string; scopes: string[] }[];
    expect(items.map((t) => [t.name, t.scopes])).toEqual([['ci', ['apps:read:*', 'orgs:read:*']]]);
    expect(ls.stdout).not.toContain(token);
    const table = await s.cli(['tokens', 'ls']);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+SCOPES\s+CREATED\s+EXPIRES\s+LAST USED\n/);

    // A fresh HOME: nothing saved, only the environment.
    const env = { SHELLWEGO_URL: s.cp.url, SHELLWEGO_TOKEN: token };
    const apps = await runCli(['apps', 'ls', '--json'], { env });
    expectSuccess(apps);
    expect(JSON.parse(apps.stdout)).toEqual([]);
    const denied = await runCli(['apps', 'create', 'nope-app'], { env });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/\(FORBIDDEN\)/);

    const id = items[0]?.id ?? '';
    const revoked = await s.cli(['tokens', 'revoke', id]);
    expectSuccess(revoked);
    expect(revoked.stdout).toBe(`revoked token ${id}\n`);
    expectErrorLine(await runCli(['apps', 'ls'], { env }), 'UNAUTHENTICATED');
  });

  it('lists and creates organizations', async () => {
    expectSuccess(await s.login());
    const created = await s.cli(['orgs', 'create', 'acme']);
    expectSuccess(created);
    expect(created.stdout).toMatch(/^created organization acme \(\S+\)\n$/);
    const ls = await s.cli(['orgs', 'ls']);
    expectSuccess(ls);
    expect(ls.stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+ROLE\s+CREATED$/);
    expect(ls.stdout).toMatch(/\nacme\s+org_\S+\s+owner\s+\S+\n/);
    const json = JSON.parse((await s.cli(['orgs', 'ls', '--json'])).stdout) as { name: string }[];
    expect(json.map((o) => o.name).sort()).toEqual(['acme', 'main']);
  });

  it('logs out', async () => {
    expectSuccess(await s.login());
    const r = await s.cli(['logout']);
    expectSuccess(r);
    expect(r.stdout).toBe(`logged out of ${s.cp.url}\n`);
    expectErrorLine(await s.cli(['whoami']), 'NOT_LOGGED_IN');
    expect((await s.cli(['logout'])).stdout).toBe('not logged in\n');
  });
});
