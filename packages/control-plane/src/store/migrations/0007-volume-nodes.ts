import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

// A volume's data is a directory on one node: the node its app's first instance with it was placed on. Null until
// then. No foreign key: a node record that goes keeps its volumes' pin (the data is still on that machine).
export const volumeNodesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('volumes').addColumn('node_id', 'text').execute();
  },
};
