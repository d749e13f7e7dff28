import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { expectErrorLine, expectSuccess, useLoggedInSession } from './test-session.js';

const s = useLoggedInSession();

/** An organization of its own with a few audit entries, so tampering with it leaves the others intact. */
async function orgWithHistory(name: string): Promise<string> {
  const created = await s.cli(['orgs', 'create', name, '--json']);
  expectSuccess(created);
  for (const app of [`${name}-one`, `${name}-two`]) {
    expectSuccess(await s.cli(['apps', 'create', app, '--org', name]));
  }
  expectSuccess(await s.cli(['secrets', 'set', `${name}-one`, 'K=v']));
  return (JSON.parse(created.stdout) as { id: string }).id;
}

/** Changes the database under the running control plane, as an attacker with file access would. */
function tamper(sql: string, ...params: unknown[]): void {
  const db = new Database(join(s.cp.dataDir, 'shellwego.db'));
  try {
    const changed = db.prepare(sql).run(...params).changes;
    expect(changed).toBe(1);
  } finally {
    db.close();
  }
}

describe('shellwego audit', () => {
  it('lists the log and verifies it client-side', async () => {
    await orgWithHistory('intact');
    const ls = await s.cli(['audit', 'ls', '--org', 'intact', '--json']);
    expectSuccess(ls);
    const entries = JSON.parse(ls.stdout) as { seq: number; action: string }[];
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(entries.map((e) => e.action)).toContain('app.create');
    const table = await s.cli(['audit', 'ls', '--org', 'intact']);
    expect(table.stdout.split('\n')[0]).toMatch(/^SEQ\s+AT\s+ACTOR\s+ACTION\s+RESOURCE\s+HASH$/);

    const verified = await s.cli(['audit', 'verify', '--org', 'intact']);
    expectSuccess(verified);
    expect(verified.stdout).toMatch(/^audit log verified: 4 entries, head [0-9a-f]{12}\n$/);
    // The default organization too.
    expect((await s.cli(['audit', 'verify'])).stdout).toMatch(/^audit log verified: \d+ entries/);
  });

  it('fails, naming the entry, when an entry was modified', async () => {
    const orgId = await orgWithHistory('modified');
    tamper(`UPDATE audit_log SET data = '{"name":"innocent"}' WHERE org_id = ? AND seq = 2`, orgId);
    const r = await s.cli(['audit', 'verify', '--org', 'modified']);
    expect(r.stdout).toBe('');
    const line = expectErrorLine(r, 'AUDIT_CHAIN_BROKEN');
    expect(line).toContain('entry 2 was modified');
    // The others' chains are untouched.
    expectSuccess(await s.cli(['audit', 'verify', '--org', 'intact']));
  });

  it('fails, naming the entry, when a middle entry was deleted', async () => {
    const orgId = await orgWithHistory('deleted');
    tamper('DELETE FROM audit_log WHERE org_id = ? AND seq = 3', orgId);
    const line = expectErrorLine(await s.cli(['audit', 'verify', '--org', 'deleted']), 'AUDIT_CHAIN_BROKEN');
    expect(line).toContain('entry 3 is missing');
    const json = await s.cli(['audit', 'verify', '--org', 'deleted', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, first_bad_seq: 3 });
  });
});
