import { PaasError, idPrefixes, isId, newId, roleAtLeast } from '@shellwego/core';
import type { Member, Org, Role } from '@shellwego/core';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Actor, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { appendAudit, audited, INITIAL_AUDIT_HEAD } from './audit.js';
import { authorize } from './authz.js';
import { resolveOrg } from './orgs-lookup.js';
import { INVITATION_PREFIX, hashToken, newOpaqueToken } from './tokens.js';
import { isUniqueViolation } from '../store/db.js';

/** Creates an org with `ownerId` as its owner; the org's audit chain starts with its creation. */
export async function createOrgInTx(
  deps: Deps,
  tx: Transaction<Database>,
  input: { name: string; ownerId: string; actor: string },
): Promise<{ id: string; name: string; created_at: string }> {
  const now = isoNow(deps);
  const org = {
    id: newId(idPrefixes.org),
    name: input.name,
    created_at: now,
    audit_seq: 0,
    audit_head: INITIAL_AUDIT_HEAD,
  };
  await tx.insertInto('orgs').values(org).execute();
  await tx
    .insertInto('memberships')
    .values({ org_id: org.id, user_id: input.ownerId, role: 'owner', created_at: now })
    .execute();
  await appendAudit(deps, tx, {
    orgId: org.id,
    actor: input.actor,
    action: 'org.create',
    resource: 'orgs',
    resourceId: org.id,
    data: { name: org.name, owner: input.ownerId },
  });
  return { id: org.id, name: org.name, created_at: now };
}

export class OrgService {
  constructor(private readonly deps: Deps) {}

  async create(actor: Actor, name: string): Promise<Org> {
    if (actor.tokenId !== null) {
      throw new PaasError(
        'FORBIDDEN',
        'API tokens are bound to one organization and cannot create others; log in',
      );
    }
    try {
      const org = await inTransaction(this.deps, (tx) =>
        createOrgInTx(this.deps, tx, { name, ownerId: actor.userId, actor: actor.email }),
      );
      return { ...org, role: 'owner' };
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new PaasError('ALREADY_EXISTS', `organization name ${name} is taken`, { field: 'name' });
      }
      throw e;
    }
  }

  async list(actor: Actor): Promise<Org[]> {
    const ids = [...actor.memberships.keys()];
    if (ids.length === 0) return [];
    const rows = await this.deps.store.db
      .selectFrom('orgs')
      .select(['id', 'name', 'created_at'])
      .where('id', 'in', ids)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, role: actor.memberships.get(r.id) ?? 'viewer' }));
  }

  async get(actor: Actor, key: string): Promise<Org> {
    const org = await resolveOrg(this.deps.store.db, actor, key);
    authorize(actor, org.id, 'orgs', 'read', org.id);
    return {
      id: org.id,
      name: org.name,
      created_at: org.created_at,
      role: actor.memberships.get(org.id) ?? 'viewer',
    };
  }

  async listMembers(actor: Actor, key: string): Promise<Member[]> {
    const org = await resolveOrg(this.deps.store.db, actor, key);
    authorize(actor, org.id, 'members', 'read', org.id);
    const rows = await this.deps.store.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['memberships.user_id', 'users.email', 'memberships.role', 'memberships.created_at'])
      .where('memberships.org_id', '=', org.id)
      .orderBy('memberships.created_at')
      .execute();
    return rows.map((r) => ({ ...r, role: r.role as Role }));
  }

  /** Adds an existing user by e-mail (others are invited with an invitation). */
  async addMember(actor: Actor, key: string, input: { email: string; role: Role }): Promise<Member> {
    const org = await resolveOrg(this.deps.store.db, actor, key);
    authorize(actor, org.id, 'members', 'write', org.id);
    this.checkCanGrant(actor, org.id, input.role);
    const now = isoNow(this.deps);
    return inTransaction(this.deps, async (tx) => {
      const user = await tx
        .selectFrom('users')
        .select(['id', 'email'])
        .where('email', '=', input.email)
        .executeTakeFirst();
      if (!user) {
        throw new PaasError(
          'USER_NOT_FOUND',
          `no account uses ${input.email}; invite them with POST /v1/invitations`,
          {
            field: 'email',
          },
        );
      }
      const existing = await tx
        .selectFrom('memberships')
        .select('role')
        .where('org_id', '=', org.id)
        .where('user_id', '=', user.id)
        .executeTakeFirst();
      if (existing)
        throw new PaasError('ALREADY_EXISTS', `${input.email} is already a member`, { field: 'email' });
      await tx
        .insertInto('memberships')
        .values({ org_id: org.id, user_id: user.id, role: input.role, created_at: now })
        .execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, org.id, 'member.add', 'members', user.id, { email: user.email, role: input.role }),
      );
      return { user_id: user.id, email: user.email, role: input.role, created_at: now };
    });
  }

  async setRole(actor: Actor, key: string, userId: string, role: Role): Promise<Member> {
    const org = await resolveOrg(this.deps.store.db, actor, key);
    authorize(actor, org.id, 'members', 'write', org.id);
    this.checkCanGrant(actor, org.id, role);
    return inTransaction(this.deps, async (tx) => {
      const m = await this.findMember(tx, org.id, userId);
      if (m.role === 'owner' && role !== 'owner') await this.ensureAnotherOwner(tx, org.id, userId);
      await tx
        .updateTable('memberships')
        .set({ role })
        .where('org_id', '=', org.id)
        .where('user_id', '=', userId)
        .execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, org.id, 'member.role', 'members', userId, { from: m.role, to: role }),
      );
      return { ...m, role };
    });
  }

  async removeMember(actor: Actor, key: string, userId: string): Promise<void> {
    const org = await resolveOrg(this.deps.store.db, actor, key);
    authorize(actor, org.id, 'members', 'write', org.id);
    await inTransaction(this.deps, async (tx) => {
      const m = await this.findMember(tx, org.id, userId);
      if (m.role === 'owner') {
        this.checkCanGrant(actor, org.id, 'owner');
        await this.ensureAnotherOwner(tx, org.id, userId);
      }
      await tx.deleteFrom('memberships').where('org_id', '=', org.id).where('user_id', '=', userId).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, org.id, 'member.remove', 'members', userId, { email: m.email }),
      );
    });
  }

  async invite(
    actor: Actor,
    input: { email: string; org: string; role: Role },
  ): Promise<{ id: string; email: string; org_id: string; role: Role; token: string; expires_at: string }> {
    const org = await resolveOrg(this.deps.store.db, actor, input.org);
    authorize(actor, org.id, 'invitations', 'write', org.id);
    this.checkCanGrant(actor, org.id, input.role);
    const token = newOpaqueToken(INVITATION_PREFIX);
    const now = this.deps.now();
    const row = {
      id: newId(idPrefixes.invitation),
      org_id: org.id,
      email: input.email,
      role: input.role,
      token_hash: hashToken(token),
      expires_at: new Date(now.getTime() + this.deps.settings.invitationTtlSeconds * 1000).toISOString(),
      accepted_at: null,
      created_by: actor.userId,
      created_at: now.toISOString(),
    };
    await inTransaction(this.deps, async (tx) => {
      await tx.insertInto('invitations').values(row).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, org.id, 'invitation.create', 'invitations', row.id, {
          email: row.email,
          role: row.role,
        }),
      );
    });
    return {
      id: row.id,
      email: row.email,
      org_id: org.id,
      role: input.role,
      token,
      expires_at: row.expires_at,
    };
  }

  /** Nobody grants a role above their own: an admin cannot make owners. */
  private checkCanGrant(actor: Actor, orgId: string, role: Role): void {
    const mine = actor.memberships.get(orgId);
    if (!mine || !roleAtLeast(mine, role)) {
      throw new PaasError('FORBIDDEN', `your role (${mine ?? 'none'}) cannot grant the ${role} role`, {
        field: 'role',
      });
    }
  }

  private async findMember(tx: Transaction<Database>, orgId: string, userId: string): Promise<Member> {
    if (!isId(userId, idPrefixes.user)) throw new PaasError('MEMBER_NOT_FOUND', `member ${userId} not found`);
    const m = await tx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['memberships.user_id', 'users.email', 'memberships.role', 'memberships.created_at'])
      .where('memberships.org_id', '=', orgId)
      .where('memberships.user_id', '=', userId)
      .executeTakeFirst();
    if (!m) throw new PaasError('MEMBER_NOT_FOUND', `member ${userId} not found`);
    return { ...m, role: m.role as Role };
  }

  private async ensureAnotherOwner(tx: Transaction<Database>, orgId: string, userId: string): Promise<void> {
    const other = await tx
      .selectFrom('memberships')
      .select('user_id')
      .where('org_id', '=', orgId)
      .where('role', '=', 'owner')
      .where('user_id', '!=', userId)
      .executeTakeFirst();
    if (!other)
      throw new PaasError(
        'LAST_OWNER',
        'an organization needs at least one owner; make someone else owner first',
      );
  }
}
