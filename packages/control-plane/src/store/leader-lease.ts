import type { Client as PgClient } from 'pg';
import type { Logger } from 'pino';
import type { StoreConfig } from './db.js';

/**
 * Which control plane runs the platform's background work (the rollout controller, certificate issuance). Every
 * control plane serves the API; only the leader acts on the store's desired state, so two never start the same
 * instance or order the same certificate.
 */
export interface LeaderLease {
  isLeader(): boolean;
  stop(): Promise<void>;
}

export interface LeaseOptions {
  /** How often a follower tries to take the lease and a leader checks it still holds it. Default 2 s. */
  checkMs?: number;
  onChange?: (leader: boolean) => void;
}

/** The advisory lock key: any constant the platform's other code does not use ('swgl' as a number). */
export const LEADER_LOCK_KEY = 0x7377676c;

/**
 * SQLite: one process owns the database file, so it always leads. PostgreSQL: a session advisory lock on a
 * connection of its own; the server releases it when that connection dies (a crashed or partitioned control plane),
 * and another control plane takes it on its next check.
 */
export async function openLeaderLease(
  config: StoreConfig,
  logger: Logger,
  opts: LeaseOptions = {},
): Promise<LeaderLease> {
  if (config.kind === 'sqlite') {
    opts.onChange?.(true);
    return { isLeader: () => true, stop: () => Promise.resolve() };
  }
  const lease = new PostgresLease(config.url, logger, opts);
  await lease.check();
  lease.startTimer();
  return lease;
}

class PostgresLease implements LeaderLease {
  private client: PgClient | undefined;
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly opts: LeaseOptions,
  ) {}

  isLeader(): boolean {
    return this.leader;
  }

  startTimer(): void {
    this.timer = setInterval(() => void this.check(), this.opts.checkMs ?? 2000);
    this.timer.unref();
  }

  /** One check at a time: take the lock as a follower, prove the connection as a leader. Never throws. */
  async check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await this.connection();
      if (this.leader) {
        // The lock lives as long as this session: a query that answers proves both still stand.
        await client.query('select 1');
      } else {
        const res = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
          LEADER_LOCK_KEY,
        ]);
        if (res.rows[0]?.locked === true) this.set(true);
      }
    } catch (err) {
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'leader lease check failed',
      );
      this.drop();
    }
  }

  private async connection(): Promise<PgClient> {
    if (this.client) return this.client;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: this.url });
    // A lost connection is a lost lease: the server has released the lock with the session.
    client.on('error', () => this.drop());
    client.on('end', () => this.drop());
    await client.connect();
    this.client = client;
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    this.set(false);
    client?.end().catch(() => undefined);
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.logger.info({ leader }, leader ? 'took the leader lease' : 'lost the leader lease');
    this.opts.onChange?.(leader);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.checking;
    const client = this.client;
    this.client = undefined;
    this.leader = false;
    // Ending the session releases the lock at once, so another control plane leads on its next check.
    await client?.end().catch(() => undefined);
  }
}
