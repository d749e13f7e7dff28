import { z } from 'zod';

/** Reconnect backoff of the watch: doubles from `initialMs` up to `maxMs`, with jitter. */
export const backoffSchema = z.strictObject({
  initialMs: z.number().int().min(10).default(500),
  maxMs: z.number().int().min(10).default(30_000),
});
export type WatchBackoff = z.infer<typeof backoffSchema>;

/** The agent's settings, gathered by its caller (the CLI); nothing here reads the environment. */
export const agentConfigSchema = z.strictObject({
  /** The control plane's base URL, e.g. http://10.0.0.1:8080. */
  url: z.url({ protocol: /^https?$/ }),
  /** Needed only on the first start; afterwards the stored node credential is used. */
  joinToken: z.string().min(1).max(256).optional(),
  /** The agent keeps its credential, instance records and leases here. */
  dataDir: z.string().min(1),
  /** The node's name at registration (a DNS label). */
  name: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label: a-z, 0-9 and -, at most 63 characters'),
  zone: z.string().min(1).max(64).optional(),
  heartbeatMs: z.number().int().min(10).default(10_000),
  reconcileMs: z.number().int().min(10).default(10_000),
  backoff: backoffSchema.default({ initialMs: 500, maxMs: 30_000 }),
  /** Per-request timeout of the HTTP calls to the control plane. */
  requestTimeoutMs: z.number().int().min(10).default(10_000),
  bridgeName: z.string().min(1).max(15).default('swg0'),
  cidr: z.string().min(1).default('10.88.0.0/16'),
  /** Starts the names of instance interfaces and namespaces, so two agents (or tests) on one host never collide. */
  networkPrefix: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,5}$/, '1 to 6 lower-case letters or digits, starting with a letter')
    .default('sw'),
  /** The node's image store (blobs, refs, unpacked trees); default `<dataDir>/images`. */
  imagesDir: z.string().min(1).optional(),
  /** Prometheus metrics at http://metricsHost:metricsPort/metrics; 0 picks a free port, null turns them off. */
  metricsPort: z.number().int().min(0).max(65_535).nullable().default(9100),
  metricsHost: z.string().min(1).default('127.0.0.1'),
  /**
   * Milli-CPUs the node offers the scheduler per real one. 1 (the default) backs every milli-CPU an app asks for with
   * a real one; 4 sells each core four times over: shared CPU, as hosts of many small, mostly idle apps do. An
   * instance's CPU limit stays what its app asks for; under contention instances share by their weights.
   */
  cpuOvercommit: z.number().min(1).max(100).default(1),
});
export type AgentConfigInput = z.input<typeof agentConfigSchema>;
export type AgentConfig = z.output<typeof agentConfigSchema>;
