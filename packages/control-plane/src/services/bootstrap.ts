import { idPrefixes, newId } from '@shellwego/core';
import type { Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { hashPassword, randomPassword } from './passwords.js';
import { createOrgInTx } from './orgs.js';

export interface FirstAdmin {
  email: string;
  password: string;
  org: string;
}

/**
 * On a store with no users: creates the first organization and its admin with a random password,
 * returned once for main.ts to print (never logged). On every later start: returns null.
 */
export async function ensureFirstAdmin(
  deps: Deps,
  opts: { email: string; org: string },
): Promise<FirstAdmin | null> {
  const any = await deps.store.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (any) return null;
  const password = randomPassword();
  const hash = await hashPassword(password);
  const userId = newId(idPrefixes.user);
  try {
    await inTransaction(deps, async (tx) => {
      await tx
        .insertInto('users')
        .values({
          id: userId,
          email: opts.email,
          password_hash: hash,
          is_platform_admin: 1,
          created_at: isoNow(deps),
        })
        .execute();
      await createOrgInTx(deps, tx, { name: opts.org, ownerId: userId, actor: 'system' });
    });
  } catch (e) {
    // Another control plane bootstrapped the same database first; its admin stands.
    const raced = await deps.store.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (raced) return null;
    throw e;
  }
  return { email: opts.email, password, org: opts.org };
}
