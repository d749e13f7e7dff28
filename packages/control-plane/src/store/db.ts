import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { Migration, MigrationProvider } from 'kysely/migration';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from './schema.js';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-nodes-protocol.js';
import { deploymentsMigration } from './migrations/0003-deployments.js';
import { certificatesMigration } from './migrations/0004-certificates.js';
import { artifactsMigration } from './migrations/0005-artifacts.js';
import { appMetricsMigration } from './migrations/0006-app-metrics.js';
import { volumeNodesMigration } from './migrations/0007-volume-nodes.js';
import { withStatementCache } from './statement-cache.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** What the health endpoint shows: `sqlite` or `postgres`, never the URL (it may hold a password). */
  describe(): string;
  close(): Promise<void>;
}

export type StoreConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001-initial': m0001,
    '0002-nodes-protocol': m0002,
    '0003-deployments': deploymentsMigration(dialect),
    '0004-certificates': certificatesMigration(dialect),
    '0005-artifacts': artifactsMigration(dialect),
    '0006-app-metrics': appMetricsMigration(dialect),
    '0007-volume-nodes': volumeNodesMigration,
  };
}

class StaticMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(migrations(this.dialect));
  }
}

/** Opens the store and brings its schema up to date. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const store = config.kind === 'sqlite' ? await openSqlite(config.path) : await openPostgres(config.url);
  const { error, results } = await new Migrator({
    db: store.db,
    provider: new StaticMigrations(store.dialect),
  }).migrateToLatest();
  if (error) {
    await store.close();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
  return store;
}

async function openSqlite(path: string): Promise<Store> {
  // Loaded on demand: a PostgreSQL deployment never pays for the native module, and vice versa.
  const { default: SQLite } = await import('better-sqlite3');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before the API acknowledges it, so SIGKILL or power loss loses nothing acked.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, dialect: 'sqlite', describe: () => 'sqlite', close: () => db.destroy() };
}

async function openPostgres(url: string): Promise<Store> {
  const { default: pg } = await import('pg');
  const INT8 = 20;
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // Byte counts are bigint; they fit in a double (below 2^53), so read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
        oid === INT8
          ? (v: string) => Number(v)
          : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', describe: () => 'postgres', close: () => db.destroy() };
}

/** True when `e` is a unique-constraint violation on either database. */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
