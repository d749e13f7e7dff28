import { inject } from 'vitest';
// Brings in the ProvidedContext augmentation that types inject('postgresUrl'); erased at runtime.
import type {} from './global-setup.js';
import { createDatabaseAt } from './databases.js';

/** A new, empty database with a random name on the run-wide cluster started by global-setup.ts. */
export async function freshPostgresDatabase(): Promise<string> {
  return createDatabaseAt(inject('postgresUrl'));
}
