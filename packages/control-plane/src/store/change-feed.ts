import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql, type Kysely } from 'kysely';
import type { Client as PgClient } from 'pg';
import type { Logger } from 'pino';
import type { StoreConfig } from './db.js';
import type { Database } from './schema.js';

/**
 * What one control plane tells the others over PostgreSQL LISTEN/NOTIFY (ARCHITECTURE.md "Beyond one machine"):
 * `edge` the route table changed, `node` a node's desired state changed (payload: its id), `app` an app needs the
 * rollout controller (payload: its id), `event` a platform event was stored (payload: `{orgId, event}` JSON).
 * Each service keeps telling its own listeners as before and announces the change here for the others.
 */
export type ChangeTopic = 'edge' | 'node' | 'app' | 'event';

export interface ChangeFeed {
  /**
   * Tells the other control planes. With `db` inside a transaction, they hear it when it commits (never if it
   * rolls back). Never throws: a missed announcement costs latency (the controllers' sweeps catch up), not data.
   */
  announce(topic: ChangeTopic, payload: string, db?: Kysely<Database>): Promise<void>;
  /** Calls `fn` with what other control planes announce on `topic`; returns the unsubscribe function. */
  onRemote(topic: ChangeTopic, fn: (payload: string) => void): () => void;
  close(): Promise<void>;
}

/** The channel every control plane of one database listens on. */
export const CHANGE_CHANNEL = 'shellwego_changes';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7900;
/** After a lost listening connection, try again this often. */
const RECONNECT_MS = 1000;

/** One process owns a SQLite file: there is nobody to tell. */
export const localChangeFeed: ChangeFeed = {
  announce: () => Promise.resolve(),
  onRemote: () => () => undefined,
  close: () => Promise.resolve(),
};

export async function openChangeFeed(
  config: StoreConfig,
  db: Kysely<Database>,
  logger: Logger,
): Promise<ChangeFeed> {
  if (config.kind === 'sqlite') return localChangeFeed;
  const feed = new PostgresChangeFeed(config.url, db, logger);
  await feed.listen();
  return feed;
}

interface Message {
  /** The announcing control plane: it does not hear itself. */
  o: string;
  t: ChangeTopic;
  p: string;
}

class PostgresChangeFeed implements ChangeFeed {
  private readonly origin = randomUUID();
  private readonly remote = new EventEmitter();
  private client: PgClient | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
  ) {
    this.remote.setMaxListeners(0);
  }

  async announce(topic: ChangeTopic, payload: string, db: Kysely<Database> = this.db): Promise<void> {
    const text = JSON.stringify({ o: this.origin, t: topic, p: payload } satisfies Message);
    if (Buffer.byteLength(text) > MAX_PAYLOAD) {
      this.logger.warn({ topic, bytes: Buffer.byteLength(text) }, 'change too large to announce; skipped');
      return;
    }
    try {
      await sql`select pg_notify(${CHANGE_CHANNEL}, ${text})`.execute(db);
    } catch (err) {
      this.logger.warn(
        { topic, err: errText(err) },
        'could not announce a change to the other control planes',
      );
    }
  }

  onRemote(topic: ChangeTopic, fn: (payload: string) => void): () => void {
    this.remote.on(topic, fn);
    return () => {
      this.remote.off(topic, fn);
    };
  }

  /** Opens the listening connection; on a reconnect, every listener hears a resync (`*`), as changes were missed. */
  async listen(resync = false): Promise<void> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (n) => {
      if (n.channel === CHANGE_CHANNEL && n.payload !== undefined) this.deliver(n.payload);
    });
    const lost = (): void => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      if (!this.closed) this.scheduleRetry();
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    this.client = client;
    if (resync) for (const topic of ['edge', 'node', 'app'] as const) this.remote.emit(topic, '*');
  }

  private scheduleRetry(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.listen(true).catch((err: unknown) => {
        this.logger.warn({ err: errText(err) }, 'change feed: cannot listen; retrying');
        this.scheduleRetry();
      });
    }, RECONNECT_MS);
    this.retry.unref();
  }

  private deliver(text: string): void {
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (m.o === this.origin || typeof m.p !== 'string') return;
    try {
      this.remote.emit(m.t, m.p);
    } catch (err) {
      this.logger.error({ topic: m.t, err: errText(err) }, 'a change listener failed');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
