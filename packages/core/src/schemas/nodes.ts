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
  shared: z
    .boolean()
    .optional()
    .describe("nodes it registers take every organization's apps; platform admins only, and their default"),
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
  /** The instance's memory in use (cgroup, VMM or worker share), sampled by the agent; absent when unknown. */
  memory_bytes: z.number().int().min(0).optional(),
  /** CPU in use over the last sampling period, in milli-CPU (1000 = one core busy); absent when unknown. */
  cpu_milli: z.number().int().min(0).optional(),
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
  /** The runtimes the node can run now (an agent restarted with another driver set announces the new set). */
  runtimes: z.array(z.string().min(1).max(32)).min(1).max(16).optional(),
  /** What the node offers now (an agent restarted with another CPU overcommit announces the new figures). */
  capacity: nodeCapacity.optional(),
});
export type NodeStatusReport = z.infer<typeof nodeStatusReport>;

/** What status and heartbeat answer: the node's status and the revision of its desired state. */
export const nodeAck = z.object({
  status: z.enum(['pending', 'ready', 'unreachable', 'draining']),
  revision: z.number().int(),
});
export type NodeAck = z.infer<typeof nodeAck>;

/**
 * What the control plane asks a node to run for one instance: the release's settings, node-independent. The agent
 * resolves it into a driver's InstanceSpec (pulls the image, merges the image config, picks paths on the node).
 * `secrets` carries values: the agent keeps them in memory only and compares specs by `secret_versions`.
 */
export const instanceWireSpec = z.object({
  app_id: z.string(),
  app_name: z.string(),
  release_id: z.string(),
  release_version: z.number().int(),
  /** Pinned by digest (`repo@sha256:…`) once the control plane resolved it; a name the node pulls otherwise. */
  image: z.string(),
  runtime: z.string(),
  env: z.record(z.string(), z.string()),
  secrets: z.record(z.string(), z.string()),
  secret_versions: z.record(z.string(), z.number().int()),
  resources: z.object({ memory_bytes: z.number().int(), cpu_milli: z.number().int() }),
  port: z.number().int(),
  health_check: z.object({ path: z.string(), interval_ms: z.number().int(), timeout_ms: z.number().int() }),
  /**
   * The app's volumes with a mount path: each a directory the node keeps by volume id, mounted at `mount_path`
   * (`size_bytes` sizes the block image of runtimes that need one). Absent when the app has none.
   */
  volumes: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        mount_path: z.string(),
        size_bytes: z.number().int(),
      }),
    )
    .optional(),
});
export type InstanceWireSpec = z.infer<typeof instanceWireSpec>;

export const restartPolicy = z.enum(['always', 'on-failure', 'never']);

/** One message on the watch WebSocket: the node's full desired state. */
export const desiredInstance = z.object({
  id: z.string(),
  app_id: z.string(),
  spec: instanceWireSpec,
  restart_policy: restartPolicy,
});
export type DesiredInstanceWire = z.infer<typeof desiredInstance>;
export const desiredState = z.object({ revision: z.number().int(), instances: z.array(desiredInstance) });
export type DesiredState = z.infer<typeof desiredState>;
