import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { dialects } from '@shellwego/testkit/vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { isUniqueViolation, openStore } from './db.js';
import type { StoreConfig } from './db.js';

describe.each(dialects)('the store on $name', ({ name, databaseUrl }) => {
  it('migrates a new database, reopens an existing one, and reports unique violations', async () => {
    const dir = await makeTempDir('swg-store-');
    const url = await databaseUrl();
    const config: StoreConfig = url
      ? { kind: 'postgres', url }
      : { kind: 'sqlite', path: join(dir, 'test.db') };
    try {
      const first = await openStore(config);
      const row = { id: 'org_1', name: 'one', created_at: 'now', audit_seq: 0, audit_head: 'x' };
      await first.db.insertInto('orgs').values(row).execute();
      const dup = await first.db
        .insertInto('orgs')
        .values({ ...row, id: 'org_2' })
        .execute()
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isUniqueViolation(dup)).toBe(true);
      await first.close();

      const second = await openStore(config);
      expect(await second.db.selectFrom('orgs').select('name').execute()).toEqual([{ name: 'one' }]);
      // Byte counts beyond 2^31 come back as numbers on both stores.
      await second.db
        .insertInto('volumes')
        .values({
          id: 'vol_1',
          org_id: 'org_1',
          app_id: null,
          name: 'big',
          size_bytes: 5 * 1024 ** 4,
          mount_path: null,
          status: 'pending',
          created_at: 'now',
        })
        .execute();
      const v = await second.db.selectFrom('volumes').select('size_bytes').executeTakeFirstOrThrow();
      expect(v.size_bytes).toBe(5 * 1024 ** 4);
      if (name === 'sqlite') {
        const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(second.db);
        expect(mode.rows[0]?.journal_mode).toBe('wal');
        const sync = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(second.db);
        expect(sync.rows[0]?.synchronous).toBe(2); // FULL
      }
      await second.close();
    } finally {
      await removeDir(dir);
    }
  });
});
