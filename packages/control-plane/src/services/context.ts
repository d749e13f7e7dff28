import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Role } from '@shellwego/core';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/db.js';
import { localChangeFeed, type ChangeFeed } from '../store/change-feed.js';
import type { Envelope } from './envelope.js';

export type Db = Kysely<Database> | Transaction<Database>;

/** Everything a service needs, handed over by main.ts; services read no globals and no env. */
export interface Deps {
  store: Store;
  envelope: Envelope;
  logger: Logger;
  now: () => Date;
  settings: ServiceSettings;
  /**
   * Whether this control plane holds the leader lease (store/leader-lease.ts): only the leader runs the rollout
   * controller and certificate issuance. Absent: it leads (a single control plane).
   */
  isLeader?: () => boolean;
  /** How changes reach the other control planes of the database (store/change-feed.ts); absent: there are none. */
  feed?: ChangeFeed;
}

/** The feed, or the one that tells nobody. */
export function feedOf(deps: Deps): ChangeFeed {
  return deps.feed ?? localChangeFeed;
}

export function leads(deps: Deps): boolean {
  return deps.isLeader?.() ?? true;
}

export interface ServiceSettings {
  signup: 'open' | 'invite' | 'closed';
  /** Apps get `APP.<domain>` as their default hostname. */
  domain: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  invitationTtlSeconds: number;
}

/** Who is calling: a user with a session, or a user acting through an API token bound to one org. */
export interface Actor {
  userId: string;
  email: string;
  isPlatformAdmin: boolean;
  /** orgId → role, limited to the token's org for API tokens. */
  memberships: Map<string, Role>;
  /** The token's scopes, or null for a session (the role alone decides). */
  tokenScopes: readonly string[] | null;
  tokenId: string | null;
}

export function actorLabel(actor: Actor): string {
  return actor.tokenId ? `${actor.email} (token ${actor.tokenId})` : actor.email;
}

export function isoNow(deps: Deps): string {
  return deps.now().toISOString();
}

export function inTransaction<T>(deps: Deps, fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  return deps.store.db.transaction().execute(fn);
}
