// TypeScript only accepts the augmentation below for a module this file imports.
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the `postgres` database of the run-wide cluster; use it to CREATE DATABASE, not to hold data. */
    postgresUrl: string;
  }
}

/**
 * One PostgreSQL cluster for the whole run: initdb costs ~1 s, a CREATE DATABASE per test ~0.1 s.
 * Tests get their own database through freshPostgresDatabase() (vitest-postgres.ts).
 */
export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  provide('postgresUrl', server.url('postgres'));
  return () => server.stop();
}
