import { z } from 'zod';
import { envName, hostname, dnsLabel } from './common.js';

export const secretPut = z.strictObject({ value: z.string().max(65_536, 'must be at most 64 KiB') });
export const secret = z.object({
  name: z.string(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Secret = z.infer<typeof secret>;
export const secretName = envName;

export const domainCreate = z.strictObject({ hostname });
export const tlsStatus = z.enum(['pending', 'issuing', 'active', 'failed']);
export const domain = z.object({
  id: z.string(),
  hostname: z.string(),
  app_id: z.string(),
  tls_status: tlsStatus,
  last_acme_error: z.string().nullable(),
  certificate_expires_at: z.string().nullable().describe('when the certificate the edge serves expires'),
  created_at: z.string(),
});
export type Domain = z.infer<typeof domain>;

export const volumeCreate = z.strictObject({
  name: dnsLabel,
  size: z.union([z.string().max(32), z.number()]).describe('e.g. 1g or 10Gi'),
  app: z.string().min(1).max(128).optional(),
  mount_path: z
    .string()
    .max(1024)
    .regex(/^\/[^\0]*$/, 'must be an absolute path')
    .optional(),
  org: z.string().min(1).max(128).optional(),
});
export const volume = z.object({
  id: z.string(),
  name: z.string(),
  org_id: z.string(),
  size: z.string(),
  size_bytes: z.number().int(),
  app_id: z.string().nullable(),
  mount_path: z.string().nullable(),
  status: z.enum(['pending', 'ready', 'failed']),
  /** The node that holds its data: its app's instances run only there. Null until the first one is placed. */
  node_id: z.string().nullable(),
  created_at: z.string(),
});
export type Volume = z.infer<typeof volume>;

export const nodeStatus = z.enum(['pending', 'ready', 'unreachable', 'draining']);
export const node = z.object({
  id: z.string(),
  name: z.string(),
  org_id: z.string(),
  status: nodeStatus,
  runtimes: z.array(z.string()),
  zone: z.string().nullable(),
  capacity: z.object({ memory_bytes: z.number(), cpu_milli: z.number(), disk_bytes: z.number() }),
  last_heartbeat_at: z.string().nullable(),
  created_at: z.string(),
});
export type Node = z.infer<typeof node>;

export const auditEntry = z.object({
  seq: z.number().int(),
  org_id: z.string(),
  actor: z.string(),
  action: z.string(),
  resource: z.string(),
  resource_id: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: z.string(),
  prev_hash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof auditEntry>;
export const auditPage = z.object({
  items: z.array(auditEntry),
  next_cursor: z.string().nullable(),
  head: z.object({ seq: z.number().int(), hash: z.string() }),
});
export const auditVerification = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  problem: z.string().nullable(),
  first_bad_seq: z.number().int().nullable(),
});
export type AuditVerification = z.infer<typeof auditVerification>;

export const health = z.object({ status: z.literal('ok'), version: z.string(), database: z.string() });
