import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { Dialect } from '../db.js';

/** Latency bucket columns lat_0 … lat_12: the 12 bounds of LATENCY_BUCKETS_MS when this was written, then overflow. */
export const LATENCY_COLUMNS = 13;

// Per-app metrics, one row per app, minute (since the epoch) and source: `edge` rows add up the traffic every edge
// reports, `node:<id>` rows hold the memory and CPU a node last reported in that minute (replaced, not added, so a
// node reporting every 10 s counts once). Rows older than 48 h are deleted by the metrics service.
export function appMetricsMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      let table = db.schema
        .createTable('app_metrics')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
        .addColumn('minute', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull())
        .addColumn('errors', 'integer', (c) => c.notNull())
        .addColumn('duration_ms_sum', dialect === 'postgres' ? 'double precision' : 'real', (c) =>
          c.notNull(),
        );
      for (let i = 0; i < LATENCY_COLUMNS; i++) {
        table = table.addColumn(`lat_${i}`, 'integer', (c) => c.notNull());
      }
      await table
        .addColumn('memory_bytes', 'bigint')
        .addColumn('cpu_milli', 'integer')
        .addPrimaryKeyConstraint('app_metrics_pk', ['app_id', 'minute', 'source'])
        .execute();
      // Retention deletes by age across all apps.
      await db.schema.createIndex('app_metrics_minute').on('app_metrics').column('minute').execute();
    },
  };
}
