import { PaasError, isId } from '@shellwego/core';
import type { Actor, Db } from './context.js';
import type { OrgsTable } from '../store/schema.js';
import { visibleOrgIds } from './authz.js';

/**
 * Finds an org the actor belongs to by name or id; with no key, the actor's first org. Another
 * tenant's org answers ORG_NOT_FOUND, exactly like one that does not exist.
 */
export async function resolveOrg(db: Db, actor: Actor, key: string | undefined): Promise<OrgsTable> {
  const ids = visibleOrgIds(actor);
  if (ids.length === 0) throw new PaasError('ORG_NOT_FOUND', 'you are not a member of any organization');
  let q = db.selectFrom('orgs').selectAll().where('id', 'in', ids);
  if (key !== undefined) q = q.where(isId(key, 'org') ? 'id' : 'name', '=', key);
  const org = await q.orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
  if (!org) throw new PaasError('ORG_NOT_FOUND', `organization ${key ?? ''} not found`, { field: 'org' });
  return org;
}
