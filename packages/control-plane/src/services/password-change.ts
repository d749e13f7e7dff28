import { PaasError } from '@shellwego/core';
import type { Actor, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { appendAudit, audited } from './audit.js';

/**
 * The first admin's password is printed once at the first start; until they change it, `must_change` is true.
 * Only that account ever had a printed password (every other one chose its own at signup), so the signal is:
 * the very first user, and no record of a change. A change is recorded in `settings`, which needs no migration.
 */
const changedKey = (userId: string): string => `password_changed:${userId}`;

export async function passwordStatus(deps: Deps, actor: Actor): Promise<{ must_change: boolean }> {
  const first = await deps.store.db
    .selectFrom('users')
    .select('id')
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (first?.id !== actor.userId) return { must_change: false };
  const changed = await deps.store.db
    .selectFrom('settings')
    .select('key')
    .where('key', '=', changedKey(actor.userId))
    .executeTakeFirst();
  return { must_change: changed === undefined };
}

export async function changePassword(deps: Deps, actor: Actor, current: string, next: string): Promise<void> {
  if (actor.tokenId !== null)
    throw new PaasError('FORBIDDEN', 'an API token cannot change a password; log in with the password');
  const user = await deps.store.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', actor.userId)
    .executeTakeFirst();
  // Not INVALID_CREDENTIALS: a 401 would make clients refresh their session and retry.
  if (!user || !(await verifyPassword(current, user.password_hash)))
    throw new PaasError('VALIDATION_FAILED', 'the current password is wrong', { field: 'current_password' });
  if (current === next)
    throw new PaasError('VALIDATION_FAILED', 'the new password must differ from the current one', {
      field: 'new_password',
    });
  const hash = await hashPassword(next);
  await inTransaction(deps, async (tx) => {
    await tx.updateTable('users').set({ password_hash: hash }).where('id', '=', actor.userId).execute();
    await tx
      .insertInto('settings')
      .values({ key: changedKey(actor.userId), value: isoNow(deps) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: isoNow(deps) }))
      .execute();
    for (const orgId of actor.memberships.keys())
      await appendAudit(deps, tx, audited(actor, orgId, 'user.password_changed', 'user', actor.userId));
  });
}
