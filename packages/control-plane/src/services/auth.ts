import { PaasError, hasScope, idPrefixes, isValidScope, newId } from '@shellwego/core';
import type { ApiToken, Me, Role, TokenPair } from '@shellwego/core';
import type { Actor, Db, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { API_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, hashToken, newOpaqueToken } from './tokens.js';
import type { AccessTokens } from './jwt-keys.js';
import { appendAudit, audited } from './audit.js';
import { resolveOrg } from './orgs-lookup.js';
import { createOrgInTx } from './orgs.js';
import { isUniqueViolation } from '../store/db.js';

// A hash to compare against when the e-mail is unknown, so a login takes as long either way. Made on
// first need: at import it would cost every start a 16 MiB scrypt run.
let dummyHash: Promise<string> | undefined;

export class AuthService {
  /** API tokens are checked on every call; their last_used_at is written at most once a minute. */
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(
    private readonly deps: Deps,
    private readonly tokens: AccessTokens,
  ) {}

  async login(email: string, password: string): Promise<TokenPair> {
    const user = await this.deps.store.db
      .selectFrom('users')
      .select(['id', 'password_hash'])
      .where('email', '=', email)
      .executeTakeFirst();
    const ok = await verifyPassword(
      password,
      user?.password_hash ?? (await (dummyHash ??= hashPassword('not-a-real-password'))),
    );
    if (!user || !ok) throw new PaasError('INVALID_CREDENTIALS', 'wrong e-mail or password');
    return this.issuePair(user.id, newId('rtf'));
  }

  /** Rotates a refresh token. Presenting one already used revokes its whole family (a stolen copy). */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const db = this.deps.store.db;
    const row = await db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', hashToken(refreshToken))
      .executeTakeFirst();
    const now = isoNow(this.deps);
    if (!row || row.expires_at <= now) {
      throw new PaasError('UNAUTHENTICATED', 'the refresh token is invalid or expired; log in again');
    }
    const revoked = await db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('id', '=', row.id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(revoked.numUpdatedRows) !== 1) {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('family_id', '=', row.family_id)
        .where('revoked_at', 'is', null)
        .execute();
      throw new PaasError('UNAUTHENTICATED', 'the refresh token was already used; log in again');
    }
    return this.issuePair(row.user_id, row.family_id);
  }

  /**
   * After a password change: every refresh token of the user stops working (sessions elsewhere, perhaps someone
   * who knew the old password, end when their access token expires), and the caller gets a new session.
   */
  async restartSessions(userId: string): Promise<TokenPair> {
    await this.deps.store.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: isoNow(this.deps) })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
    return this.issuePair(userId, newId('rtf'));
  }

  private async issuePair(userId: string, familyId: string): Promise<TokenPair> {
    const refresh = newOpaqueToken(REFRESH_TOKEN_PREFIX);
    const now = this.deps.now();
    await this.deps.store.db
      .insertInto('refresh_tokens')
      .values({
        id: newId(idPrefixes.refresh),
        user_id: userId,
        token_hash: hashToken(refresh),
        family_id: familyId,
        expires_at: new Date(now.getTime() + this.deps.settings.refreshTokenTtlSeconds * 1000).toISOString(),
        revoked_at: null,
        created_at: now.toISOString(),
      })
      .execute();
    return {
      access_token: await this.tokens.issue({ userId }),
      refresh_token: refresh,
      token_type: 'Bearer',
      expires_in: this.tokens.expiresIn,
    };
  }

  /** Turns an Authorization header into an Actor, or throws UNAUTHENTICATED / TOKEN_EXPIRED. */
  async authenticate(header: string | undefined): Promise<Actor> {
    const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    const credential = m?.[1];
    if (!credential) {
      throw new PaasError('UNAUTHENTICATED', 'missing credentials: send Authorization: Bearer <token>', {
        hint: 'log in with `shellwego login` or create an API token',
      });
    }
    return credential.startsWith(API_TOKEN_PREFIX)
      ? this.fromApiToken(credential)
      : this.fromAccessToken(credential);
  }

  private async fromAccessToken(jwt: string): Promise<Actor> {
    const { userId } = await this.tokens.verify(jwt);
    return this.actorOfUser(userId);
  }

  /** A user acting with a session's rights (no token scopes). */
  async actorOfUser(userId: string): Promise<Actor> {
    const db = this.deps.store.db;
    const user = await db
      .selectFrom('users')
      .select(['id', 'email', 'is_platform_admin'])
      .where('id', '=', userId)
      .executeTakeFirst();
    if (!user) throw new PaasError('UNAUTHENTICATED', 'this account no longer exists');
    const rows = await db
      .selectFrom('memberships')
      .select(['org_id', 'role'])
      .where('user_id', '=', userId)
      .execute();
    return {
      userId,
      email: user.email,
      isPlatformAdmin: user.is_platform_admin === 1,
      memberships: new Map(rows.map((r) => [r.org_id, r.role as Role])),
      tokenScopes: null,
      tokenId: null,
    };
  }

  /** The first platform admin, for what `shellwego up` does on the operator's behalf (join its agent and edge). */
  async operator(): Promise<Actor> {
    const first = await this.deps.store.db
      .selectFrom('users')
      .select('id')
      .where('is_platform_admin', '=', 1)
      .orderBy('created_at')
      .executeTakeFirst();
    if (!first) throw new PaasError('UNAVAILABLE', 'this platform has no admin yet');
    return this.actorOfUser(first.id);
  }

  private async fromApiToken(token: string): Promise<Actor> {
    const db = this.deps.store.db;
    const row = await db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .leftJoin('memberships', (j) =>
        j
          .onRef('memberships.user_id', '=', 'api_tokens.user_id')
          .onRef('memberships.org_id', '=', 'api_tokens.org_id'),
      )
      .select([
        'api_tokens.id',
        'api_tokens.user_id',
        'api_tokens.org_id',
        'api_tokens.scopes',
        'api_tokens.expires_at',
        'users.email',
        'users.is_platform_admin',
        'memberships.role',
      ])
      .where('api_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    const nowDate = this.deps.now();
    if (!row) throw new PaasError('UNAUTHENTICATED', 'the API token is invalid or was revoked');
    if (row.expires_at !== null && row.expires_at <= nowDate.toISOString()) {
      throw new PaasError('TOKEN_EXPIRED', 'the API token has expired; create a new one');
    }
    const last = this.lastUsedWrites.get(row.id) ?? 0;
    if (nowDate.getTime() - last > 60_000) {
      this.lastUsedWrites.set(row.id, nowDate.getTime());
      await db
        .updateTable('api_tokens')
        .set({ last_used_at: nowDate.toISOString() })
        .where('id', '=', row.id)
        .execute();
    }
    return {
      userId: row.user_id,
      email: row.email,
      isPlatformAdmin: row.is_platform_admin === 1,
      memberships: new Map<string, Role>(row.role ? [[row.org_id, row.role as Role]] : []),
      tokenScopes: JSON.parse(row.scopes) as string[],
      tokenId: row.id,
    };
  }

  async me(actor: Actor): Promise<Me> {
    const db = this.deps.store.db;
    const user = await db
      .selectFrom('users')
      .select(['id', 'email', 'created_at'])
      .where('id', '=', actor.userId)
      .executeTakeFirstOrThrow();
    const ids = [...actor.memberships.keys()];
    const orgs = ids.length
      ? await db
          .selectFrom('orgs')
          .select(['id', 'name'])
          .where('id', 'in', ids)
          .orderBy('created_at')
          .execute()
      : [];
    return {
      ...user,
      is_platform_admin: actor.isPlatformAdmin,
      memberships: orgs.map((o) => ({
        org_id: o.id,
        org_name: o.name,
        role: actor.memberships.get(o.id) ?? 'viewer',
      })),
    };
  }

  /**
   * Signup, as `--signup` allows: `open` gives a new user an organization of their own; `invite`
   * needs an invitation; `closed` refuses. With an invitation the user joins its organization.
   */
  async signup(input: { email: string; password: string; invitation?: string | undefined }): Promise<{
    user: { id: string; email: string; created_at: string };
    tokens: TokenPair;
  }> {
    const mode = this.deps.settings.signup;
    if (mode === 'closed')
      throw new PaasError('SIGNUP_CLOSED', 'signup is closed on this platform; ask an administrator');
    if (mode === 'invite' && input.invitation === undefined) {
      throw new PaasError('INVITATION_INVALID', 'signup needs an invitation on this platform', {
        field: 'invitation',
      });
    }
    const passwordHash = await hashPassword(input.password);
    const now = isoNow(this.deps);
    const userId = newId(idPrefixes.user);
    try {
      await inTransaction(this.deps, async (tx) => {
        await tx
          .insertInto('users')
          .values({
            id: userId,
            email: input.email,
            password_hash: passwordHash,
            is_platform_admin: 0,
            created_at: now,
          })
          .execute();
        if (input.invitation !== undefined) {
          const inv = await tx
            .selectFrom('invitations')
            .selectAll()
            .where('token_hash', '=', hashToken(input.invitation))
            .where('accepted_at', 'is', null)
            .where('expires_at', '>', now)
            .executeTakeFirst();
          if (!inv || inv.email !== input.email) {
            throw new PaasError(
              'INVITATION_INVALID',
              'the invitation is invalid, expired, used, or for another e-mail',
              {
                field: 'invitation',
              },
            );
          }
          await tx.updateTable('invitations').set({ accepted_at: now }).where('id', '=', inv.id).execute();
          await tx
            .insertInto('memberships')
            .values({ org_id: inv.org_id, user_id: userId, role: inv.role, created_at: now })
            .execute();
          await appendAudit(this.deps, tx, {
            orgId: inv.org_id,
            actor: input.email,
            action: 'member.join',
            resource: 'members',
            resourceId: userId,
            data: { email: input.email, role: inv.role, invitation: inv.id },
          });
        } else {
          await createOrgInTx(this.deps, tx, {
            name: await freeOrgName(tx, input.email),
            ownerId: userId,
            actor: input.email,
          });
        }
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new PaasError('ALREADY_EXISTS', 'an account with this e-mail already exists; log in instead', {
          field: 'email',
        });
      }
      throw e;
    }
    return {
      user: { id: userId, email: input.email, created_at: now },
      tokens: await this.issuePair(userId, newId('rtf')),
    };
  }

  async createApiToken(
    actor: Actor,
    input: {
      name: string;
      scopes?: string[] | undefined;
      org?: string | undefined;
      expires_in_days?: number | undefined;
    },
  ): Promise<ApiToken & { token: string }> {
    if (actor.tokenId !== null && input.scopes === undefined) {
      // A token minting a token gets at most its own scopes.
      input = { ...input, scopes: [...(actor.tokenScopes ?? [])] };
    }
    const org = await resolveOrg(this.deps.store.db, actor, input.org);
    const scopes = input.scopes ?? ['*:*:*'];
    for (const s of scopes) {
      if (!isValidScope(s))
        throw new PaasError('VALIDATION_FAILED', `scopes: "${s}" is not a scope`, { field: 'scopes' });
      // A wildcard becomes a placeholder that only a wildcard covers: apps:read:* needs apps:read:* or wider.
      if (actor.tokenScopes !== null && !hasScope(actor.tokenScopes, s.replaceAll('*', '~'))) {
        throw new PaasError('FORBIDDEN', `a token cannot grant ${s}, which it does not hold itself`, {
          field: 'scopes',
        });
      }
    }
    const token = newOpaqueToken(API_TOKEN_PREFIX);
    const now = this.deps.now();
    const row = {
      id: newId(idPrefixes.token),
      user_id: actor.userId,
      org_id: org.id,
      name: input.name,
      token_hash: hashToken(token),
      scopes: JSON.stringify(scopes),
      expires_at:
        input.expires_in_days === undefined
          ? null
          : new Date(now.getTime() + input.expires_in_days * 86_400_000).toISOString(),
      last_used_at: null,
      created_at: now.toISOString(),
    };
    await inTransaction(this.deps, async (tx) => {
      await tx.insertInto('api_tokens').values(row).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, org.id, 'token.create', 'tokens', row.id, { name: row.name, scopes }),
      );
    });
    return { ...toApiToken(row), token };
  }

  async listApiTokens(actor: Actor): Promise<ApiToken[]> {
    const rows = await this.deps.store.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', actor.userId)
      .orderBy('id')
      .execute();
    return rows.map(toApiToken);
  }

  async deleteApiToken(actor: Actor, id: string): Promise<void> {
    await inTransaction(this.deps, async (tx) => {
      const row = await tx
        .selectFrom('api_tokens')
        .select(['id', 'org_id', 'name'])
        .where('id', '=', id)
        .where('user_id', '=', actor.userId)
        .executeTakeFirst();
      if (!row) throw new PaasError('TOKEN_NOT_FOUND', `token ${id} not found`);
      await tx.deleteFrom('api_tokens').where('id', '=', id).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, row.org_id, 'token.delete', 'tokens', id, { name: row.name }),
      );
    });
  }
}

function toApiToken(row: {
  id: string;
  name: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}): ApiToken {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
  };
}

/** A DNS-label org name from the e-mail's local part, suffixed until free. */
async function freeOrgName(db: Db, email: string): Promise<string> {
  const base =
    (email.split('@')[0] ?? 'org')
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'org';
  for (let i = 0; ; i++) {
    const name = i === 0 ? base : `${base}-${i + 1}`;
    const taken = await db.selectFrom('orgs').select('id').where('name', '=', name).executeTakeFirst();
    if (!taken) return name;
  }
}
