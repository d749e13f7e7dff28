import { PaasError, hasScope, scopesOfRole } from '@shellwego/core';
import type { ScopeAction, ScopeResource } from '@shellwego/core';
import type { Actor } from './context.js';

/** The organizations whose rows this actor may see; every repository query is filtered by them. */
export function visibleOrgIds(actor: Actor): string[] {
  return [...actor.memberships.keys()];
}

export function can(
  actor: Actor,
  orgId: string,
  resource: ScopeResource,
  action: ScopeAction,
  id: string,
): boolean {
  const role = actor.memberships.get(orgId);
  if (!role) return false;
  const wanted = `${resource}:${action}:${id}`;
  if (!hasScope(scopesOfRole(role), wanted)) return false;
  return actor.tokenScopes === null || hasScope(actor.tokenScopes, wanted);
}

/**
 * Throws FORBIDDEN when the actor lacks `resource:action:id` in `orgId`. Call it only after the row
 * was found among visibleOrgIds, so that another tenant's ids answer 404, never 403.
 */
export function authorize(
  actor: Actor,
  orgId: string,
  resource: ScopeResource,
  action: ScopeAction,
  id: string,
): void {
  if (can(actor, orgId, resource, action, id)) return;
  const role = actor.memberships.get(orgId) ?? 'none';
  const via =
    actor.tokenScopes === null ? `your role (${role})` : `this token's scopes or your role (${role})`;
  throw new PaasError('FORBIDDEN', `${via} does not grant ${resource}:${action}:${id}`);
}
