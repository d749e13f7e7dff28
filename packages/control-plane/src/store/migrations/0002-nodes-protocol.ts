import type { Kysely } from 'kysely';

// The node protocol: join tokens, node credentials, the desired-state revision and the last report.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('join_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('zone', 'text')
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('join_tokens_org').on('join_tokens').column('org_id').execute();

  await db.schema.alterTable('nodes').addColumn('credential_hash', 'text').execute();
  await db.schema
    .alterTable('nodes')
    .addColumn('revision', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('nodes').addColumn('actual', 'text').execute();
  await db.schema.createIndex('nodes_credential').on('nodes').column('credential_hash').unique().execute();
  await db.schema.createIndex('nodes_org').on('nodes').columns(['org_id', 'id']).execute();
}
