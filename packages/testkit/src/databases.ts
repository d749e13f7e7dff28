import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A name unlikely to collide across parallel workers and runs sharing one cluster. */
export function randomDatabaseName(): string {
  return `test_${randomBytes(8).toString('hex')}`;
}

/**
 * Runs CREATE DATABASE through `adminUrl` (any database of the cluster) and returns the new database's URL.
 */
export async function createDatabaseAt(
  adminUrl: string,
  name: string = randomDatabaseName(),
): Promise<string> {
  // ssl: false explicitly, so a PGSSLMODE in the developer's environment cannot change how we connect.
  const client = new pg.Client({ connectionString: adminUrl, ssl: false });
  // Without a listener, an 'error' event (server stopped mid-call) would crash the process; the awaited calls
  // below already report the failure.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}
