import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres } from './postgres.js';
import type { PostgresServer } from './postgres.js';
import { freshPostgresDatabase } from './vitest-postgres.js';

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, ssl: false });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function tableExists(url: string, table: string): Promise<boolean> {
  return withClient(url, async (client) => {
    const result = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [
      table,
    ]);
    return result.rows[0]?.found != null;
  });
}

async function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startPostgres', () => {
  let server: PostgresServer | undefined;
  // If an assertion fails midway, still leave no cluster behind.
  afterAll(async () => {
    await server?.stop();
  });

  it('creates separate databases and leaves nothing behind once stopped', async () => {
    server = await startPostgres();
    const { port, dir } = server;
    expect(await acceptsConnections(port)).toBe(true);

    const first = await server.createDatabase();
    const second = await server.createDatabase('named "db"');
    expect(first).not.toBe(second);
    expect(second).toBe(server.url('named "db"'));

    await withClient(first, async (client) => {
      await client.query('CREATE TABLE notes (body text)');
      await client.query("INSERT INTO notes VALUES ('only in first')");
    });
    const rows = await withClient(first, (client) =>
      client.query<{ body: string }>('SELECT body FROM notes'),
    );
    expect(rows.rows).toEqual([{ body: 'only in first' }]);
    expect(await tableExists(second, 'public.notes')).toBe(false);

    await server.stop();
    expect(await acceptsConnections(port)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await server.stop(); // idempotent
  });

  it('says how to fix a missing installation instead of skipping', async () => {
    await expect(startPostgres({ binDir: '/nonexistent/postgresql/bin' })).rejects.toThrow(
      /initdb is missing.*setup script/,
    );
  });
});

describe('freshPostgresDatabase', () => {
  it('gives each caller its own empty database on the shared cluster', async () => {
    const [a, b] = await Promise.all([freshPostgresDatabase(), freshPostgresDatabase()]);
    expect(a).not.toBe(b);
    await withClient(a, (client) => client.query('CREATE TABLE only_a (id int)'));
    expect(await tableExists(a, 'public.only_a')).toBe(true);
    expect(await tableExists(b, 'public.only_a')).toBe(false);
  });
});
