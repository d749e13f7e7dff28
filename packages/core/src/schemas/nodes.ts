import { z } from 'zod';
import { dnsLabel } from './common.js';

/** The node protocol (ARCHITECTURE.md "Control plane ↔ agent"): join tokens, registration, status. */

export const joinTokenCreate = z.strictObject({
  ttl_hours: z
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .optional(),
  zone: z.string().min(1).max(64).optional(),
  org: z.string().min(1).max(128).optional(),
});
export const joinToken = z.object({
  id: z.string(),
  org_id: z.string(),
  zone: z.string().nullable(),
  expires_at: z.string(),
  created_at: z.string(),
});
export type JoinToken = z.infer<typeof joinToken>;
/** Only the creation answer carries the token itself; the store keeps its SHA-256. */
export const joinTokenCreated = joinToken.extend({ token: z.string() });
export type JoinTokenCreated = z.infer<typeof joinTokenCreated>;

export const nodeCapacity = z.strictObject({
  memory_bytes: z.number().int().min(0),
  cpu_milli: z.number().int().min(0),
  disk_bytes: z.number().int().min(0),
});

export const nodeRegister = z.strictObject({
  join_token: z.string().min(1).max(256),
  name: dnsLabel,
  runtimes: z.array(z.string().min(1).max(32)).min(1).max(16),
  capacity: nodeCapacity,
  zone: z.string().min(1).max(64).optional(),
});
export const nodeRegistered = z.object({ node_id: z.string(), credential: z.string() });
export type NodeRegistered = z.infer<typeof nodeRegistered>;

export const instanceState = z.enum(['pending', 'starting', 'running', 'stopping', 'stopped', 'failed']);
export const nodeInstanceStatus = z.strictObject({
  id: z.string().min(1).max(128),
  app_id: z.string().min(1).max(128).optional(),
  state: instanceState,
  exit_code: z.number().int().nullable().optional(),
  oom_killed: z.boolean().optional(),
  health: z.enum(['unknown', 'healthy', 'unhealthy']).optional(),
  address: z.string().max(64).optional(),
  message: z.string().max(4096).optional(),
});
export type NodeInstanceStatus = z.infer<typeof nodeInstanceStatus>;

export const nodeResources = z.strictObject({
  memory_total_bytes: z.number().int().min(0),
  memory_used_bytes: z.number().int().min(0),
  cpu_milli_total: z.number().int().min(0),
  cpu_milli_used: z.number().int().min(0),
  disk_total_bytes: z.number().int().min(0),
  disk_used_bytes: z.number().int().min(0),
  instance_count: z.number().int().min(0),
});
export type NodeResources = z.infer<typeof nodeResources>;

export const nodeStatusReport = z.strictObject({
  instances: z.array(nodeInstanceStatus).max(10_000),
  resources: nodeResources,
});
export type NodeStatusReport = z.infer<typeof nodeStatusReport>;

/** What status and heartbeat answer: the node's status and the revision of its desired state. */
export const nodeAck = z.object({
  status: z.enum(['pending', 'ready', 'unreachable', 'draining']),
  revision: z.number().int(),
});
export type NodeAck = z.infer<typeof nodeAck>;

/** One message on the watch WebSocket: the node's full desired state. */
export const desiredInstance = z.object({
  id: z.string(),
  app_id: z.string(),
  image: z.string().nullable(),
  runtime: z.string(),
});
export const desiredState = z.object({ revision: z.number().int(), instances: z.array(desiredInstance) });
export type DesiredState = z.infer<typeof desiredState>;
