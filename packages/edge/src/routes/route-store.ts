import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { schemas, type EdgeRoute, type EdgeRouteTable } from '@shellwego/core';
import type { Logger } from 'pino';
import { writeFileAtomic } from './atomic-write.js';
import { normalizeHost } from './host.js';
import type { Upstream } from './upstream.js';

/** One upstream as a route sees it: the shared upstream state plus this route's weight for it. */
export interface RouteTarget {
  readonly id: string;
  readonly upstream: Upstream;
  readonly weight: number;
}

/** A route resolved against live upstreams. Immutable once built: a swap builds new ones. */
export interface ResolvedRoute {
  readonly hostname: string;
  readonly appId: string;
  readonly appName: string;
  readonly healthPath: string;
  readonly targets: readonly RouteTarget[];
  /** Rotates the balancer's tie-break so equal upstreams share sequential traffic. */
  cursor: number;
}

export interface RouteStoreOptions {
  /** Where the last table is kept (`routes.json`), so a restarted edge serves it before the control plane answers. */
  stateDir: string;
  createUpstream: (address: string) => Upstream;
  logger: Logger;
  /**
   * How long an address that left the table keeps its pool before closing, in case it comes back (a swap that is
   * undone, a flapping instance). Requests that resolved the old table may still use it meanwhile. Default 5 s.
   */
  retireDelayMs?: number;
}

/** At most this many requests wait for an unknown ACME token at a time. */
const MAX_CHALLENGE_WAITERS = 64;

const emptyTable: EdgeRouteTable = { revision: 0, routes: [], challenges: [], certificates_revision: 0 };

/**
 * The current route table. A request resolves its route once, at its start, and keeps that object and its
 * upstreams; `swap` replaces the map in one assignment, so requests in flight never see a half-applied table.
 */
export class RouteStore {
  private table: EdgeRouteTable = emptyTable;
  private byHost = new Map<string, ResolvedRoute>();
  private upstreams = new Map<string, Upstream>();
  private challenges = new Map<string, string>();
  /** The table revision the challenges come from: a swap of an older table keeps newer ones. */
  private challengesRevision = 0;
  private readonly challengeWaiters = new Set<() => void>();
  private readonly leaving = new Map<string, { upstream: Upstream; timer: NodeJS.Timeout }>();
  private readonly file: string;
  private isDirty = false;
  private writer: Promise<void> | undefined;

  constructor(private readonly options: RouteStoreOptions) {
    this.file = join(options.stateDir, 'routes.json');
  }

  get revision(): number {
    return this.table.revision;
  }

  lookup(host: string | undefined): ResolvedRoute | undefined {
    const hostname = normalizeHost(host);
    return hostname === undefined ? undefined : this.byHost.get(hostname);
  }

  /** The key authorization for an ACME HTTP-01 token in progress, whatever the host it is asked on. */
  challengeFor(token: string): string | undefined {
    return this.challenges.get(token);
  }

  /**
   * The key authorization for `token` once a table brings it, or undefined after `timeoutMs` (at once when too many
   * requests wait already: the wait is for the CA's validation racing the table, not for anyone probing the path).
   */
  waitForChallenge(token: string, timeoutMs: number): Promise<string | undefined> {
    const known = this.challenges.get(token);
    if (known !== undefined || timeoutMs <= 0 || this.challengeWaiters.size >= MAX_CHALLENGE_WAITERS) {
      return Promise.resolve(known);
    }
    return new Promise((resolve) => {
      const waiter = (): void => {
        const answer = this.challenges.get(token);
        if (answer === undefined) return;
        done(answer);
      };
      const done = (answer: string | undefined): void => {
        clearTimeout(timer);
        this.challengeWaiters.delete(waiter);
        resolve(answer);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      timer.unref();
      this.challengeWaiters.add(waiter);
    });
  }

  /**
   * Answers these challenges from now on, ahead of the table that carries them (which may wait for certificates);
   * the next swap sets them from its table again.
   */
  setChallenges(revision: number, challenges: EdgeRouteTable['challenges']): void {
    if (revision < this.challengesRevision) return;
    this.challengesRevision = revision;
    this.challenges = new Map(challenges.map((challenge) => [challenge.token, challenge.key_authorization]));
    for (const waiter of this.challengeWaiters) waiter();
  }

  /** Every upstream of the current table, once each (for the active checker), with a route that names it. */
  upstreamsWithRoute(): Array<{ upstream: Upstream; route: ResolvedRoute }> {
    const seen = new Map<Upstream, ResolvedRoute>();
    for (const route of this.byHost.values()) {
      for (const target of route.targets) if (!seen.has(target.upstream)) seen.set(target.upstream, route);
    }
    return [...seen].map(([upstream, route]) => ({ upstream, route }));
  }

  /**
   * Makes `table` current at once, then persists it. Upstreams whose address stays keep their pool and health;
   * removed ones finish their requests in flight, then close. Resolves when the table is on disk; a failed write
   * is logged (the edge keeps serving the new table from memory).
   */
  swap(table: EdgeRouteTable): Promise<void> {
    this.apply(table);
    return this.persist();
  }

  /** Loads the table persisted by a previous run, if any. Returns whether one was loaded. */
  async load(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      // readFile fails with an ErrnoException; only "no file yet" is expected.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const parsed = schemas.edgeRouteTable.safeParse(safeJson(text));
    if (!parsed.success) {
      this.options.logger.warn(
        { file: this.file, err: parsed.error.message },
        'ignoring an unreadable route table',
      );
      return false;
    }
    this.apply(parsed.data);
    return true;
  }

  /** Waits for pending writes, then destroys every pool (after the server drained). */
  async close(): Promise<void> {
    await this.writer;
    const upstreams = [...this.upstreams.values()];
    for (const { upstream, timer } of this.leaving.values()) {
      clearTimeout(timer);
      upstreams.push(upstream);
    }
    this.leaving.clear();
    this.upstreams.clear();
    this.byHost = new Map();
    this.challenges = new Map();
    await Promise.all(upstreams.map((upstream) => upstream.destroy()));
  }

  private apply(table: EdgeRouteTable): void {
    const next = new Map<string, Upstream>();
    const byHost = new Map<string, ResolvedRoute>();
    for (const route of table.routes) {
      const hostname = normalizeHost(route.hostname);
      if (hostname === undefined || byHost.has(hostname)) {
        this.options.logger.warn(
          { hostname: route.hostname },
          'skipping an empty or duplicate route hostname',
        );
        continue;
      }
      byHost.set(hostname, this.resolve(hostname, route, next));
    }
    const removed = [...this.upstreams].filter(([address]) => !next.has(address));
    this.table = table;
    this.byHost = byHost;
    this.setChallenges(table.revision, table.challenges);
    this.upstreams = next;
    for (const [address, upstream] of removed) this.scheduleRetire(address, upstream);
  }

  private scheduleRetire(address: string, upstream: Upstream): void {
    const delay = this.options.retireDelayMs ?? 5_000;
    const retire = (): void => {
      this.leaving.delete(address);
      upstream.retire().catch((error: unknown) => {
        this.options.logger.warn({ err: error, upstream: address }, 'closing a retired upstream failed');
      });
    };
    if (delay <= 0) return retire();
    const timer = setTimeout(retire, delay);
    timer.unref();
    this.leaving.set(address, { upstream, timer });
  }

  /** An address that left the table recently and is back: keep its pool and state. */
  private reclaim(address: string): Upstream | undefined {
    const leaving = this.leaving.get(address);
    if (leaving === undefined) return undefined;
    clearTimeout(leaving.timer);
    this.leaving.delete(address);
    return leaving.upstream;
  }

  private resolve(hostname: string, route: EdgeRoute, next: Map<string, Upstream>): ResolvedRoute {
    const targets: RouteTarget[] = [];
    for (const { id, address, weight } of route.upstreams) {
      let upstream = next.get(address) ?? this.upstreams.get(address) ?? this.reclaim(address);
      if (upstream === undefined) {
        try {
          upstream = this.options.createUpstream(address);
        } catch (error) {
          this.options.logger.warn({ err: error, hostname, address }, 'skipping an invalid upstream address');
          continue;
        }
      }
      next.set(address, upstream);
      targets.push({ id, upstream, weight });
    }
    return {
      hostname,
      appId: route.app_id,
      appName: route.app_name,
      healthPath: route.health_path,
      targets,
      cursor: 0,
    };
  }

  // Coalesces bursts of swaps: at most one write runs, and it always writes the latest table.
  private persist(): Promise<void> {
    this.isDirty = true;
    this.writer ??= (async () => {
      try {
        await mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
        while (this.isDirty) {
          this.isDirty = false;
          await writeFileAtomic(this.file, JSON.stringify(this.table));
        }
      } catch (error) {
        this.options.logger.error({ err: error, file: this.file }, 'persisting the route table failed');
      } finally {
        this.writer = undefined;
      }
    })();
    return this.writer;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
