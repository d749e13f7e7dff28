import { EventEmitter } from 'node:events';
import type { PlatformEvent } from '@shellwego/core';
import type { Actor, Db, Deps } from './context.js';
import { feedOf } from './context.js';
import { visibleOrgIds } from './authz.js';

export interface EventInput {
  orgId: string;
  type: string;
  resource: string;
  id: string;
  data?: Record<string, unknown>;
}

/**
 * The event stream of `GET /v1/events`: every state change, stored with a global sequence number so a client that
 * reconnects asks for what it missed (`since`), and pushed live to open streams in this process.
 */
export class EventService {
  private readonly live = new EventEmitter();

  constructor(private readonly deps: Deps) {
    this.live.setMaxListeners(0);
    feedOf(deps).onRemote('event', (payload) => {
      if (payload === '*') return; // a stream that missed events replays them with ?since on reconnect
      const { orgId, event } = JSON.parse(payload) as { orgId: string; event: PlatformEvent };
      this.live.emit('event', orgId, event);
    });
  }

  async publish(ev: EventInput, db: Db = this.deps.store.db): Promise<void> {
    const at = this.deps.now().toISOString();
    const data = ev.data ?? {};
    const row = await db
      .insertInto('events')
      .values({
        org_id: ev.orgId,
        type: ev.type,
        resource: ev.resource,
        resource_id: ev.id,
        data: JSON.stringify(data),
        at,
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    const event: PlatformEvent = {
      seq: Number(row.seq),
      type: ev.type,
      resource: ev.resource,
      id: ev.id,
      data,
      at,
    };
    this.live.emit('event', ev.orgId, event);
    // Streams open on other control planes hear it when (and if) the transaction commits.
    await feedOf(this.deps).announce('event', JSON.stringify({ orgId: ev.orgId, event }), db);
  }

  /** Stored events of the actor's organizations after `since`, oldest first. */
  async since(actor: Actor, since: number, limit = 1000): Promise<PlatformEvent[]> {
    const orgs = visibleOrgIds(actor);
    if (orgs.length === 0) return [];
    const rows = await this.deps.store.db
      .selectFrom('events')
      .selectAll()
      .where('org_id', 'in', orgs)
      .where('seq', '>', since)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      type: r.type,
      resource: r.resource,
      id: r.resource_id,
      data: JSON.parse(r.data) as Record<string, unknown>,
      at: r.at,
    }));
  }

  /** Live events of the actor's organizations; returns the unsubscribe function. */
  subscribe(actor: Actor, listener: (e: PlatformEvent) => void): () => void {
    const orgs = new Set(visibleOrgIds(actor));
    const fn = (orgId: string, e: PlatformEvent): void => {
      if (orgs.has(orgId)) listener(e);
    };
    this.live.on('event', fn);
    return () => this.live.off('event', fn);
  }
}
