import { z } from 'zod';
import { password } from './auth.js';

/** The operator's white-label branding (branding.yml in the data dir), as `GET /v1/branding` answers it. */
export const branding = z.object({
  name: z.string(),
  logo_url: z.string().nullable(),
  favicon_url: z.string().nullable(),
  primary_color: z.string(),
  font: z.string().nullable(),
  footer: z.string().nullable(),
  /** `file` when branding.yml was read, `default` without one (or when the first read failed). */
  source: z.enum(['file', 'default']),
  /** Why branding.yml was refused, naming the field; null when it is fine or absent. */
  error: z.string().nullable(),
});
export type Branding = z.infer<typeof branding>;

/** Whether the caller still has the password printed at the first start. */
export const passwordStatus = z.object({ must_change: z.boolean() });
export type PasswordStatus = z.infer<typeof passwordStatus>;

export const passwordChange = z.strictObject({
  current_password: z.string().min(1).max(1024),
  new_password: password,
});
export type PasswordChange = z.input<typeof passwordChange>;
