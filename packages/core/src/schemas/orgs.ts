import { z } from 'zod';
import { dnsLabel, email } from './common.js';
import { role } from './auth.js';

export const orgCreate = z.strictObject({ name: dnsLabel });
export const org = z.object({ id: z.string(), name: z.string(), role, created_at: z.string() });
export type Org = z.infer<typeof org>;

export const memberAdd = z.strictObject({ email, role });
export const memberPatch = z.strictObject({ role });
export const member = z.object({ user_id: z.string(), email: z.string(), role, created_at: z.string() });
export type Member = z.infer<typeof member>;

export const invitationCreate = z.strictObject({
  email,
  org: z.string().min(1).max(128).describe('organization name or id'),
  role: role.default('developer'),
});
export const invitation = z.object({
  id: z.string(),
  email: z.string(),
  org_id: z.string(),
  role,
  token: z.string().describe('shown once; give it to the invitee'),
  expires_at: z.string(),
});
