import { z } from 'zod';

// The driver ↔ host API, HTTP with JSON bodies over the host's Unix socket. Both sides validate with these schemas,
// so a driver and a host of different builds fail with a clear message instead of misreading each other.

export const startRequestSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/),
  module: z.object({ path: z.string().startsWith('/'), digest: z.string().regex(/^sha256:[0-9a-f]{64}$/) }),
  /** The app's environment and secrets, merged; held in the host's memory only. */
  env: z.record(z.string(), z.string()),
  listen: z.object({ ip: z.string().min(1), port: z.number().int().min(1).max(65_535) }),
  memoryLimitBytes: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
  /** Guest path → host directory. */
  volumes: z.array(z.object({ source: z.string().startsWith('/'), target: z.string().startsWith('/') })),
  logPath: z.string().startsWith('/'),
});
export type StartRequest = z.infer<typeof startRequestSchema>;

export const stopRequestSchema = z.object({ graceMs: z.number().int().min(0) });

export const instanceInfoSchema = z.object({
  id: z.string(),
  state: z.enum(['running', 'exited']),
  pid: z.number().int(),
  exitCode: z.number().int().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type InstanceInfo = z.infer<typeof instanceInfoSchema>;

export const instanceStatsSchema = z.object({
  memoryBytes: z.number().int().min(0),
  memoryLimitBytes: z.number().int().positive(),
  cpuUsageNs: z.number().min(0),
});
export type HostInstanceStats = z.infer<typeof instanceStatsSchema>;

export const listResponseSchema = z.object({ instances: z.array(instanceInfoSchema) });

export const healthSchema = z.object({
  pid: z.number().int(),
  instances: z.number().int(),
  workers: z.number().int(),
});
export type HostHealth = z.infer<typeof healthSchema>;

/** A failed operation; `code` is a DriverErrorCode the driver passes on. */
export const errorBodySchema = z.object({
  code: z.enum(['INVALID_SPEC', 'INSTANCE_NOT_FOUND', 'START_FAILED', 'STOP_FAILED', 'RUNTIME_FAILED']),
  message: z.string(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** Options the driver passes to the host on its command line (no secrets ever go there). */
export const hostOptionsSchema = z.object({
  stateDir: z.string().startsWith('/'),
  maxWorkers: z.number().int().positive(),
  maxConcurrentPerInstance: z.number().int().positive(),
  idleExitMs: z.number().int().min(0),
  entryScript: z.string().min(1),
  entryArgs: z.array(z.string()),
});
export type HostOptions = z.infer<typeof hostOptionsSchema>;
