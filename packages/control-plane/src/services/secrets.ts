import { PaasError, idPrefixes, newId } from '@shellwego/core';
import type { Secret } from '@shellwego/core';
import type { Actor, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { appendAudit, audited } from './audit.js';
import { authorize } from './authz.js';
import { findApp } from './apps.js';

/** The AAD that binds a sealed value to its app and name. */
function aad(appId: string, name: string): string {
  return `secret:${appId}:${name}`;
}

/** App secrets: sealed at rest (envelope.ts); the API returns names and versions, never values. */
export class SecretService {
  constructor(private readonly deps: Deps) {}

  async put(actor: Actor, appKey: string, name: string, value: string): Promise<Secret> {
    return inTransaction(this.deps, async (tx) => {
      const app = await findApp(tx, actor, appKey);
      authorize(actor, app.org_id, 'secrets', 'write', app.id);
      const now = isoNow(this.deps);
      const sealed = this.deps.envelope.encrypt(value, aad(app.id, name));
      const existing = await tx
        .selectFrom('secrets')
        .select(['id', 'version', 'created_at'])
        .where('app_id', '=', app.id)
        .where('name', '=', name)
        .executeTakeFirst();
      let secret: Secret;
      if (existing) {
        secret = { name, version: existing.version + 1, created_at: existing.created_at, updated_at: now };
        await tx
          .updateTable('secrets')
          .set({ version: secret.version, ciphertext: sealed, updated_at: now })
          .where('id', '=', existing.id)
          .execute();
      } else {
        secret = { name, version: 1, created_at: now, updated_at: now };
        await tx
          .insertInto('secrets')
          .values({
            id: newId(idPrefixes.secret),
            org_id: app.org_id,
            app_id: app.id,
            name,
            version: 1,
            ciphertext: sealed,
            created_at: now,
            updated_at: now,
          })
          .execute();
      }
      await appendAudit(
        this.deps,
        tx,
        audited(actor, app.org_id, 'secret.set', 'secrets', app.id, { name, version: secret.version }),
      );
      return secret;
    });
  }

  async list(actor: Actor, appKey: string): Promise<Secret[]> {
    const app = await findApp(this.deps.store.db, actor, appKey);
    authorize(actor, app.org_id, 'secrets', 'read', app.id);
    return this.deps.store.db
      .selectFrom('secrets')
      .select(['name', 'version', 'created_at', 'updated_at'])
      .where('org_id', '=', app.org_id)
      .where('app_id', '=', app.id)
      .orderBy('name')
      .execute();
  }

  async delete(actor: Actor, appKey: string, name: string): Promise<void> {
    await inTransaction(this.deps, async (tx) => {
      const app = await findApp(tx, actor, appKey);
      authorize(actor, app.org_id, 'secrets', 'write', app.id);
      const res = await tx
        .deleteFrom('secrets')
        .where('org_id', '=', app.org_id)
        .where('app_id', '=', app.id)
        .where('name', '=', name)
        .executeTakeFirst();
      if (Number(res.numDeletedRows) === 0)
        throw new PaasError('SECRET_NOT_FOUND', `secret ${name} not found`);
      await appendAudit(
        this.deps,
        tx,
        audited(actor, app.org_id, 'secret.unset', 'secrets', app.id, { name }),
      );
    });
  }

  /**
   * Decrypts an app's secrets to build an instance spec: the only way a value leaves the store. Each
   * call is audited. Not reachable from the HTTP API.
   */
  async revealForInstance(appId: string, reason: string): Promise<Record<string, string>> {
    return inTransaction(this.deps, async (tx) => {
      const app = await tx
        .selectFrom('apps')
        .select(['id', 'org_id'])
        .where('id', '=', appId)
        .executeTakeFirstOrThrow();
      const rows = await tx
        .selectFrom('secrets')
        .select(['name', 'ciphertext'])
        .where('app_id', '=', appId)
        .execute();
      await appendAudit(this.deps, tx, {
        orgId: app.org_id,
        actor: 'system',
        action: 'secret.reveal',
        resource: 'secrets',
        resourceId: appId,
        data: { names: rows.map((r) => r.name), reason },
      });
      return Object.fromEntries(
        rows.map((r) => [
          r.name,
          this.deps.envelope.decrypt(r.ciphertext, aad(appId, r.name)).toString('utf8'),
        ]),
      );
    });
  }
}
