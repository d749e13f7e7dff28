import { freshPostgresDatabase } from './vitest-postgres.js';

/** The two stores every store and API suite runs against; PostgreSQL is a real server (global-setup.ts). */
export const dialects = [
  { name: 'sqlite', databaseUrl: (): Promise<string | undefined> => Promise.resolve(undefined) },
  { name: 'postgres', databaseUrl: (): Promise<string | undefined> => freshPostgresDatabase() },
] as const;
