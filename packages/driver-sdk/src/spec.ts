import { z } from 'zod';

/** A KEY=VALUE environment entry, the form OCI and execve take. */
const envEntry = z.string().regex(/^[^=]+=/, 'expected KEY=VALUE');

/** The resolved process: image config merged with the app's overrides (the registry's resolveProcess does that). */
export const processSpecSchema = z.object({
  args: z.array(z.string()).min(1),
  env: z.array(envEntry),
  cwd: z.string().startsWith('/'),
  user: z.object({ uid: z.number().int().min(0), gid: z.number().int().min(0) }),
});

export const instanceResourcesSchema = z.object({
  memoryBytes: z.number().int().positive(),
  cpuMilli: z.number().int().positive(),
  pidsLimit: z.number().int().positive(),
});

/** The instance's address on the node's network, for drivers that hand it to a guest (microvm) or listen on it (wasm). */
export const instanceNetworkSchema = z.object({
  ip: z.string().min(1),
  /** Prefix length of the node's instance subnet. */
  prefix: z.number().int().min(8).max(32),
  gateway: z.string().min(1),
  /** Locally administered MAC derived from the instance id (02:00:00:…). */
  mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
});

/** A directory of the node given to the instance; the only host files a wasm module or a VM may see. */
export const volumeMountSchema = z.object({
  source: z.string().startsWith('/'),
  target: z.string().startsWith('/'),
  readOnly: z.boolean().default(false),
  /**
   * Size of the block device a VM runtime backs the volume with (microvm: an ext4 image created on first use).
   * Read only when that image is created; other drivers ignore it.
   */
  sizeBytes: z.number().int().positive().optional(),
});

/** One file that is the whole program (a WebAssembly module), verified against its digest by the agent. */
export const artifactSchema = z.object({
  path: z.string().startsWith('/'),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});

/** What the agent asks a driver to run. Everything a driver needs, already resolved; no driver reads the store. */
export const instanceSpecSchema = z.object({
  instanceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'letters, digits, _ . - only'),
  appId: z.string().min(1),
  /** The unpacked image tree; drivers must treat it as read-only because instances of one image share it. */
  rootfs: z.string().startsWith('/'),
  process: processSpecSchema,
  hostname: z.string().min(1).max(63),
  resources: instanceResourcesSchema,
  /** Name → value. Drivers keep these in memory-backed storage only: never on a disk-backed path. */
  secrets: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()),
  /** A network namespace to join (e.g. /var/run/netns/x). Absent: the instance gets an empty one of its own. */
  netnsPath: z.string().startsWith('/').optional(),
  /** Set by the agent for drivers that do not just join netnsPath (see DriverCapabilities.networkModes). */
  network: instanceNetworkSchema.optional(),
  /** The module for runtimes that run one file (wasm); rootfs is then an empty read-only directory. */
  artifact: artifactSchema.optional(),
  volumes: z.array(volumeMountSchema).default([]),
  logDir: z.string().startsWith('/'),
  stateDir: z.string().startsWith('/'),
});

export type ProcessSpec = z.infer<typeof processSpecSchema>;
export type InstanceResources = z.infer<typeof instanceResourcesSchema>;
export type InstanceSpec = z.input<typeof instanceSpecSchema>;
export type InstanceNetwork = z.infer<typeof instanceNetworkSchema>;
export type VolumeMount = z.input<typeof volumeMountSchema>;
export type Artifact = z.infer<typeof artifactSchema>;
