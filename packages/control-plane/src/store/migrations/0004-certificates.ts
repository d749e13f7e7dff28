import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { Dialect } from '../db.js';

// TLS certificates the control plane issued (local CA or ACME), which the edges fetch. The private key is
// sealed with the Envelope; only GET /v1/edge/certificates ever unseals it.
export function certificatesMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('certificates')
        // One certificate per hostname: a renewal replaces the row.
        .addColumn('hostname', 'text', (c) => c.primaryKey())
        // A custom domain's certificate goes with it; an app's default hostname has none.
        .addColumn('domain_id', 'text', (c) => c.references('domains.id').onDelete('cascade'))
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('cert_pem', 'text', (c) => c.notNull())
        .addColumn('key_sealed', 'text', (c) => c.notNull())
        .addColumn('not_after', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('certificates_domain').on('certificates').column('domain_id').execute();
      await db.schema.createIndex('certificates_not_after').on('certificates').column('not_after').execute();
    },
  };
}
