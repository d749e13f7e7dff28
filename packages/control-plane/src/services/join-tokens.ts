import { PaasError, idPrefixes, newId } from '@shellwego/core';
import type { JoinToken, JoinTokenCreated } from '@shellwego/core';
import type { Actor, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { appendAudit, audited } from './audit.js';
import { authorize, can, visibleOrgIds } from './authz.js';
import { resolveOrg } from './orgs-lookup.js';
import { JOIN_TOKEN_PREFIX, hashToken, newOpaqueToken } from './tokens.js';
import type { JoinTokensTable } from '../store/schema.js';

const DEFAULT_TTL_HOURS = 24;

function present(r: JoinTokensTable): JoinToken {
  return { id: r.id, org_id: r.org_id, zone: r.zone, expires_at: r.expires_at, created_at: r.created_at };
}

/**
 * Join tokens let an agent register a node into an organization. Admins create them (scope
 * nodes:write); the token is shown once and the store keeps its SHA-256. A token registers any number
 * of nodes until it expires or is deleted.
 */
export class JoinTokenService {
  constructor(private readonly deps: Deps) {}

  async create(
    actor: Actor,
    input: {
      ttl_hours?: number | undefined;
      zone?: string | undefined;
      org?: string | undefined;
      shared?: boolean | undefined;
    },
  ): Promise<JoinTokenCreated> {
    return inTransaction(this.deps, async (tx) => {
      const org = await resolveOrg(tx, actor, input.org);
      authorize(actor, org.id, 'nodes', 'write', '*');
      if (input.shared === true && !actor.isPlatformAdmin)
        throw new PaasError('FORBIDDEN', 'only platform admins register shared nodes', { field: 'shared' });
      const token = newOpaqueToken(JOIN_TOKEN_PREFIX);
      const now = this.deps.now();
      const row: JoinTokensTable = {
        id: newId(idPrefixes.joinToken),
        org_id: org.id,
        token_hash: hashToken(token),
        zone: input.zone ?? null,
        shared: (input.shared ?? actor.isPlatformAdmin) ? 1 : 0,
        expires_at: new Date(now.getTime() + (input.ttl_hours ?? DEFAULT_TTL_HOURS) * 3600_000).toISOString(),
        created_by: actor.userId,
        created_at: now.toISOString(),
      };
      await tx.insertInto('join_tokens').values(row).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, org.id, 'join_token.create', 'join_tokens', row.id, {
          zone: row.zone,
          expires_at: row.expires_at,
        }),
      );
      return { ...present(row), token };
    });
  }

  /** Unexpired join tokens of the organizations where the actor may manage nodes. */
  async list(actor: Actor): Promise<JoinToken[]> {
    const orgs = visibleOrgIds(actor).filter((o) => can(actor, o, 'nodes', 'write', '*'));
    if (orgs.length === 0) return [];
    const rows = await this.deps.store.db
      .selectFrom('join_tokens')
      .selectAll()
      .where('org_id', 'in', orgs)
      .where('expires_at', '>', isoNow(this.deps))
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(present);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    await inTransaction(this.deps, async (tx) => {
      const orgs = visibleOrgIds(actor);
      const row =
        orgs.length === 0
          ? undefined
          : await tx
              .selectFrom('join_tokens')
              .selectAll()
              .where('org_id', 'in', orgs)
              .where('id', '=', id)
              .executeTakeFirst();
      if (!row) throw new PaasError('JOIN_TOKEN_NOT_FOUND', `join token ${id} not found`);
      authorize(actor, row.org_id, 'nodes', 'write', '*');
      await tx.deleteFrom('join_tokens').where('org_id', '=', row.org_id).where('id', '=', row.id).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, row.org_id, 'join_token.delete', 'join_tokens', row.id),
      );
    });
  }
}
