import { z } from 'zod';

/** The control plane's configuration, parsed once by the entry point (flags, env) and passed down. */
export const controlPlaneConfig = z.strictObject({
  dataDir: z.string().min(1),
  /** postgres://… switches the store to PostgreSQL; otherwise SQLite at <dataDir>/shellwego.db. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// (or be unset for SQLite)')
    .optional(),
  /** The web dashboard's built files (packages/dashboard/dist), served at `/`; without it `/` says it is not built. */
  dashboardDir: z.string().min(1).optional(),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  signup: z.enum(['open', 'invite', 'closed']).default('invite'),
  domain: z.string().min(1).default('localhost'),
  /** SHELLWEGO_MASTER_KEY; else <dataDir>/master.key. */
  masterKey: z.string().optional(),
  adminEmail: z.string().default('admin@shellwego.local'),
  orgName: z.string().default('main'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  rateLimit: z
    .object({ burst: z.number().int().min(1), perSecond: z.number().positive() })
    .nullable()
    .default({ burst: 200, perSecond: 50 }),
  accessTokenTtlSeconds: z
    .number()
    .int()
    .min(10)
    .default(15 * 60),
  /** ACME for custom domains with public names; without it they stay `pending` (local names use the local CA). */
  acme: z
    .strictObject({
      directoryUrl: z.url(),
      email: z.string().min(3),
      /** PEM of the CA that signed the ACME server's own TLS certificate, when it is private (Pebble, step-ca). */
      caCertPem: z.string().optional(),
    })
    .optional(),
  refreshTokenTtlSeconds: z
    .number()
    .int()
    .min(60)
    .default(30 * 24 * 3600),
});
export type ControlPlaneConfig = z.output<typeof controlPlaneConfig>;
export type ControlPlaneOptions = z.input<typeof controlPlaneConfig>;
