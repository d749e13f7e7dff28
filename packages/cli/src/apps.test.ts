import { describe, expect, it } from 'vitest';
import { expectErrorLine, expectSuccess, useLoggedInSession } from './test-session.js';

const s = useLoggedInSession();

// The seed's example app (API.md "Apps"), as flags.
const seedApp = [
  'apps',
  'create',
  'customer-blog',
  '--image',
  'ghost:latest',
  '--runtime',
  'container',
  '--env',
  'url=https://blog.customer.com',
  '--memory',
  '256m',
  '--cpu',
  '0.5',
  '--replicas',
  '1',
  '--port',
  '8080',
  '--domain',
  'blog.customer.com',
];

describe('shellwego apps', () => {
  it('creates the seed example, lists it as a table and as JSON, shows it and deletes it', async () => {
    const created = await s.cli(seedApp);
    expectSuccess(created);
    expect(created.stdout).toMatch(/^created app customer-blog \(app_\S+\): \S+\n$/);

    expectSuccess(await s.cli(['apps', 'create', 'second', '--env', 'A=1', 'B=x=y', '--replicas', '2']));

    const table = await s.cli(['apps', 'ls']);
    expectSuccess(table);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+IMAGE\s+RUNTIME\s+REPLICAS\s+MEMORY\s+CPU\s+URL$/);
    expect(lines[1]).toMatch(/^customer-blog\s+\S+\s+ghost:latest\s+container\s+1\s+256Mi\s+500m\s+\S+$/);
    expect(lines[2]).toMatch(/^second\s+\S+\s+-\s+container\s+2\s+/);
    // Aligned: every row's URL column starts where the header's does.
    const urlColumn = lines[0]?.indexOf('URL');
    for (const line of lines.slice(1)) expect(line.indexOf('http')).toBe(urlColumn);

    const json = await s.cli(['apps', 'ls', '--json']);
    expectSuccess(json);
    const apps = JSON.parse(json.stdout) as {
      name: string;
      env: Record<string, string>;
      domains: string[];
      resources: { memory: string; cpu: string };
      port: number;
    }[];
    expect(Array.isArray(apps)).toBe(true);
    expect(apps.map((a) => a.name)).toEqual(['customer-blog', 'second']);
    expect(apps[0]).toMatchObject({
      env: { url: 'https://blog.customer.com' },
      domains: ['blog.customer.com'],
      resources: { memory: '256Mi', cpu: '500m' },
      port: 8080,
    });
    expect(apps[1]?.env).toEqual({ A: '1', B: 'x=y' });

    const info = await s.cli(['apps', 'info', 'customer-blog']);
    expectSuccess(info);
    expect(info.stdout).toMatch(/^name:\s+customer-blog$/m);
    expect(info.stdout).toMatch(/^image:\s+ghost:latest$/m);
    expect(info.stdout).toMatch(/^domains:\s+blog\.customer\.com$/m);
    expect(info.stdout).toMatch(/^memory:\s+256Mi$/m);
    const infoJson = JSON.parse((await s.cli(['apps', 'info', 'customer-blog', '--json'])).stdout) as {
      name: string;
    };
    expect(infoJson.name).toBe('customer-blog');

    const refused = await s.cli(['apps', 'delete', 'customer-blog']);
    expect(expectErrorLine(refused, 'CONFIRMATION_REQUIRED')).toMatch(/without --yes/);
    const deleted = await s.cli(['apps', 'delete', 'customer-blog', '--yes']);
    expectSuccess(deleted);
    expect(deleted.stdout).toBe('deleted app customer-blog\n');
    const gone = await s.cli(['apps', 'info', 'customer-blog']);
    expect(expectErrorLine(gone, 'APP_NOT_FOUND')).toBe('error: app customer-blog not found (APP_NOT_FOUND)');
  });
});

describe('shellwego secrets', () => {
  const value = 'pa55-w0rd-that-must-never-leak';
  const piped = 'piped-value-also-secret';

  it('sets, lists and unsets secrets without ever printing or saving a value', async () => {
    expectSuccess(await s.cli(['apps', 'create', 'vault-app']));
    const set = await s.cli(['secrets', 'set', 'vault-app', `DB_PASSWORD=${value}`, 'API_KEY=-'], {
      input: `${piped}\n`,
    });
    expectSuccess(set);
    expect(set.stdout).toBe(
      'set DB_PASSWORD on vault-app (version 1)\nset API_KEY on vault-app (version 1)\n',
    );

    const ls = await s.cli(['secrets', 'ls', 'vault-app']);
    expectSuccess(ls);
    expect(ls.stdout).toMatch(/^NAME\s+VERSION\s+UPDATED\nAPI_KEY\s+1\s+\S+\nDB_PASSWORD\s+1\s+\S+\n$/);
    const json = JSON.parse((await s.cli(['secrets', 'ls', 'vault-app', '--json'])).stdout) as {
      name: string;
    }[];
    expect(json.map((x) => x.name).sort()).toEqual(['API_KEY', 'DB_PASSWORD']);

    const again = await s.cli(['secrets', 'set', 'vault-app', `DB_PASSWORD=${value}2`]);
    expect(again.stdout).toBe('set DB_PASSWORD on vault-app (version 2)\n');

    // A value typed without its name is not echoed back in the error.
    const bad = await s.cli(['secrets', 'set', 'vault-app', value]);
    expect(expectErrorLine(bad, 'VALIDATION_FAILED')).toBe(
      'error: secret 1 is not in the form NAME=VALUE (VALIDATION_FAILED)',
    );

    const unset = await s.cli(['secrets', 'unset', 'vault-app', 'DB_PASSWORD', 'API_KEY']);
    expectSuccess(unset);
    expect(unset.stdout).toBe('unset DB_PASSWORD on vault-app\nunset API_KEY on vault-app\n');
    expect((await s.cli(['secrets', 'ls', 'vault-app', '--json'])).stdout.trim()).toBe('[]');
    expectErrorLine(await s.cli(['secrets', 'unset', 'vault-app', 'API_KEY']), 'SECRET_NOT_FOUND');

    for (const r of [set, ls, again, bad, unset]) {
      expect(r.stdout + r.stderr).not.toContain(value);
      expect(r.stdout + r.stderr).not.toContain(piped);
    }
    const config = await s.savedConfig();
    expect(config).not.toContain(value);
    expect(config).not.toContain(piped);
  });
});
