import { z } from 'zod';

/** An RFC 1123 DNS label: lower-case letters, digits and hyphens, 1–63 chars, no hyphen at either end. */
export const dnsLabel = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters (it becomes a DNS label)')
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    'must be a DNS label: lower-case letters, digits and hyphens, starting and ending with a letter or digit',
  );

export const hostname = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(
    /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a lower-case host name such as blog.example.com',
  );

export const email = z
  .string()
  .max(254, 'must be at most 254 characters')
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an e-mail address')
  .transform((s) => s.toLowerCase());

export const envName = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'must be an environment variable name (letters, digits, _; not starting with a digit)',
  );

export const envMap = z
  .record(envName, z.string().max(32_768, 'must be at most 32 KiB'))
  .refine((m) => Object.keys(m).length <= 500, 'at most 500 variables');

export const timestamp = z.string().describe('RFC 3339 timestamp');

export const idParam = z.string().min(1).max(128);

/** A page of a listing; pass `next_cursor` back as `cursor` for the next one. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(256).optional(),
});
export type PageQuery = z.infer<typeof pageQuery>;

export const okResponse = z.object({ ok: z.literal(true) });
