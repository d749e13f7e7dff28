import { GENESIS_HASH, auditHash, verifyAuditChain } from '@shellwego/core/audit';
import type { ChainedEntry, ChainVerification } from '@shellwego/core/audit';
import { PaasError } from '@shellwego/core';
import type { AuditEntry } from '@shellwego/core';
import type { Transaction } from 'kysely';
import type { Database, AuditLogTable } from '../store/schema.js';
import type { Actor, Deps } from './context.js';
import { actorLabel, isoNow } from './context.js';
import { authorize } from './authz.js';
import { resolveOrg } from './orgs-lookup.js';

export interface AuditRecord {
  orgId: string;
  actor: string;
  action: string;
  resource: string;
  resourceId: string;
  data?: Record<string, unknown>;
}

/**
 * Appends one entry to the org's hash chain inside the caller's transaction, so the mutation and its
 * record commit together or not at all. The org row is locked (PostgreSQL) or the database is
 * (SQLite has one writer) so that two writers never fork the chain.
 */
export async function appendAudit(deps: Deps, tx: Transaction<Database>, rec: AuditRecord): Promise<void> {
  let q = tx.selectFrom('orgs').select(['audit_seq', 'audit_head']).where('id', '=', rec.orgId);
  // NO KEY UPDATE: serializes appenders without conflicting with the KEY SHARE locks that foreign
  // keys to orgs take earlier in the same transactions (FOR UPDATE would deadlock against them).
  if (deps.store.dialect === 'postgres') q = q.forNoKeyUpdate();
  const org = await q.executeTakeFirstOrThrow();
  const entry: Omit<ChainedEntry, 'hash'> = {
    seq: Number(org.audit_seq) + 1,
    org_id: rec.orgId,
    actor: rec.actor,
    action: rec.action,
    resource: rec.resource,
    resource_id: rec.resourceId,
    data: rec.data ?? {},
    at: isoNow(deps),
    prev_hash: org.audit_head,
  };
  const hash = auditHash(entry);
  await tx
    .insertInto('audit_log')
    .values({ ...entry, data: JSON.stringify(entry.data), hash })
    .execute();
  await tx
    .updateTable('orgs')
    .set({ audit_seq: entry.seq, audit_head: hash })
    .where('id', '=', rec.orgId)
    .execute();
}

/** Convenience for services: the record of `actor` doing `action` on a resource. */
export function audited(
  actor: Actor,
  orgId: string,
  action: string,
  resource: string,
  resourceId: string,
  data?: Record<string, unknown>,
): AuditRecord {
  return { orgId, actor: actorLabel(actor), action, resource, resourceId, data: data ?? {} };
}

export const INITIAL_AUDIT_HEAD = GENESIS_HASH;

function toEntry(row: AuditLogTable): AuditEntry {
  return { ...row, seq: Number(row.seq), data: JSON.parse(row.data) as Record<string, unknown> };
}

export async function listAudit(
  deps: Deps,
  actor: Actor,
  opts: { org?: string | undefined; limit?: number | undefined; cursor?: string | undefined },
): Promise<{ items: AuditEntry[]; next_cursor: string | null; head: { seq: number; hash: string } }> {
  const org = await resolveOrg(deps.store.db, actor, opts.org);
  authorize(actor, org.id, 'audit', 'read', org.id);
  const limit = opts.limit ?? 1000;
  const after = opts.cursor === undefined ? 0 : Number(opts.cursor);
  if (!Number.isInteger(after) || after < 0) {
    throw new PaasError('VALIDATION_FAILED', 'cursor: must be a cursor returned by a previous page', {
      field: 'cursor',
    });
  }
  const rows = await deps.store.db
    .selectFrom('audit_log')
    .selectAll()
    .where('org_id', '=', org.id)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map(toEntry);
  const last = items.at(-1);
  return {
    items,
    next_cursor: rows.length > limit && last ? String(last.seq) : null,
    head: { seq: Number(org.audit_seq), hash: org.audit_head },
  };
}

export async function verifyAudit(
  deps: Deps,
  actor: Actor,
  orgKey: string | undefined,
): Promise<ChainVerification> {
  const org = await resolveOrg(deps.store.db, actor, orgKey);
  authorize(actor, org.id, 'audit', 'read', org.id);
  const rows = await deps.store.db
    .selectFrom('audit_log')
    .selectAll()
    .where('org_id', '=', org.id)
    .orderBy('seq')
    .execute();
  return verifyAuditChain(rows.map(toEntry), { seq: Number(org.audit_seq), hash: org.audit_head });
}
