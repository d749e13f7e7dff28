import { z } from 'zod';
import { email } from './common.js';
import { roles, isValidScope } from '../scopes.js';

export const password = z.string().min(10, 'must be at least 10 characters').max(1024);

export const loginRequest = z.strictObject({ email, password: z.string().min(1).max(1024) });
export const refreshRequest = z.strictObject({ refresh_token: z.string().min(1).max(512) });
export const tokenPair = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('seconds until the access token expires'),
});
export type TokenPair = z.infer<typeof tokenPair>;

export const signupRequest = z.strictObject({
  email,
  password,
  invitation: z.string().min(1).max(512).optional(),
});

export const role = z.enum(roles);

export const user = z.object({ id: z.string(), email: z.string(), created_at: z.string() });
export type User = z.infer<typeof user>;

export const membership = z.object({ org_id: z.string(), org_name: z.string(), role });
export const me = user.extend({ is_platform_admin: z.boolean(), memberships: z.array(membership) });
export type Me = z.infer<typeof me>;

export const signupResponse = z.object({ user, tokens: tokenPair });

export const scope = z
  .string()
  .max(200)
  .refine(isValidScope, 'must be a scope resource:action:id, e.g. apps:read:* or apps:write:app_…');

export const tokenCreate = z.strictObject({
  name: z.string().min(1).max(100),
  scopes: z.array(scope).max(100).optional(),
  expires_in_days: z.number().int().min(1).max(3650).optional(),
});
export const apiToken = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
});
export type ApiToken = z.infer<typeof apiToken>;
export const apiTokenCreated = apiToken.extend({ token: z.string().describe('shown once') });
