/**
 * RBAC scopes are `resource:action:id` (`apps:read:*`, `apps:write:app_…`). A role grants a set of
 * scopes in its organization; an API token may narrow them further. `*` matches anything in a part.
 */
export const roles = ['owner', 'admin', 'developer', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const resources = [
  'orgs',
  'members',
  'invitations',
  'apps',
  'secrets',
  'domains',
  'volumes',
  'nodes',
  'audit',
  'tokens',
] as const;
export type ScopeResource = (typeof resources)[number];
export type ScopeAction = 'read' | 'write';

const roleScopes: Record<Role, readonly string[]> = {
  owner: ['*:*:*'],
  admin: ['*:*:*'],
  developer: [
    'orgs:read:*',
    'members:read:*',
    'apps:*:*',
    'secrets:*:*',
    'domains:*:*',
    'volumes:*:*',
    'nodes:read:*',
    'tokens:*:*',
  ],
  viewer: [
    'orgs:read:*',
    'members:read:*',
    'apps:read:*',
    'secrets:read:*',
    'domains:read:*',
    'volumes:read:*',
    'nodes:read:*',
    'tokens:*:*',
  ],
};

export function scopesOfRole(role: Role): readonly string[] {
  return roleScopes[role];
}

const scopePattern = /^(\*|[a-z]+):(\*|read|write):(\*|[A-Za-z0-9_.-]+)$/;

export function isValidScope(scope: string): boolean {
  const m = scopePattern.exec(scope);
  return m !== null && (m[1] === '*' || (resources as readonly string[]).includes(m[1] ?? ''));
}

function partMatches(granted: string, wanted: string): boolean {
  return granted === '*' || granted === wanted;
}

/** True if `granted` (possibly with wildcards) covers the concrete `wanted` scope. Write implies read. */
export function scopeCovers(granted: string, wanted: string): boolean {
  const g = granted.split(':');
  const w = wanted.split(':');
  if (g.length !== 3 || w.length !== 3) return false;
  const [gr = '', ga = '', gi = ''] = g;
  const [wr = '', wa = '', wi = ''] = w;
  const actionOk = partMatches(ga, wa) || (ga === 'write' && wa === 'read');
  return partMatches(gr, wr) && actionOk && partMatches(gi, wi);
}

export function hasScope(granted: readonly string[], wanted: string): boolean {
  return granted.some((g) => scopeCovers(g, wanted));
}

export function roleAtLeast(role: Role, min: Role): boolean {
  return roles.indexOf(role) <= roles.indexOf(min);
}
