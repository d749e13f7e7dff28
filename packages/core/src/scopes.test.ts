import { describe, expect, it } from 'vitest';
import { hasScope, isValidScope, roleAtLeast, scopeCovers, scopesOfRole } from './scopes.js';

describe('scopes', () => {
  it('matches wildcards part by part, write implying read', () => {
    expect(scopeCovers('apps:read:*', 'apps:read:app_1')).toBe(true);
    expect(scopeCovers('apps:write:app_1', 'apps:read:app_1')).toBe(true);
    expect(scopeCovers('apps:read:app_1', 'apps:write:app_1')).toBe(false);
    expect(scopeCovers('apps:write:app_1', 'apps:write:app_2')).toBe(false);
    expect(scopeCovers('*:*:*', 'nodes:write:node_1')).toBe(true);
    expect(scopeCovers('apps:*:*', 'secrets:read:app_1')).toBe(false);
  });

  it('gives viewers reads only and keeps audit to admins', () => {
    expect(hasScope(scopesOfRole('viewer'), 'apps:read:app_1')).toBe(true);
    expect(hasScope(scopesOfRole('viewer'), 'apps:write:app_1')).toBe(false);
    expect(hasScope(scopesOfRole('developer'), 'apps:write:app_1')).toBe(true);
    expect(hasScope(scopesOfRole('developer'), 'audit:read:org_1')).toBe(false);
    expect(hasScope(scopesOfRole('developer'), 'members:write:org_1')).toBe(false);
    expect(hasScope(scopesOfRole('admin'), 'audit:read:org_1')).toBe(true);
  });

  it('validates scope strings and orders roles', () => {
    expect(isValidScope('apps:read:*')).toBe(true);
    expect(isValidScope('apps:delete:*')).toBe(false);
    expect(isValidScope('planets:read:*')).toBe(false);
    expect(isValidScope('apps:read')).toBe(false);
    expect(roleAtLeast('owner', 'admin')).toBe(true);
    expect(roleAtLeast('developer', 'admin')).toBe(false);
  });
});
