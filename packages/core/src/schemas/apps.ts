import { z } from 'zod';
import { dnsLabel, envMap, hostname } from './common.js';

export const runtimes = ['container', 'microvm', 'wasm'] as const;
export const runtime = z.enum(runtimes);
export type Runtime = z.infer<typeof runtime>;

const quantity = z.union([z.string().max(32), z.number()]);

export const resourcesInput = z.strictObject({
  memory: quantity.optional().describe('256m, 1g, 512Mi or bytes'),
  cpu: quantity.optional().describe('0.5, 1 or 500m'),
});

export const healthCheckInput = z.strictObject({
  path: z.string().max(1024).regex(/^\//, 'must start with /').optional(),
  interval: z.string().max(16).optional().describe('e.g. 5s'),
  timeout: z.string().max(16).optional().describe('e.g. 2s'),
});

export const image = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\s]+$/, 'must be an image reference such as ghost:latest or registry.example.com/team/app:v2');

export const appCreate = z.strictObject({
  name: dnsLabel,
  org: z.string().min(1).max(128).optional().describe('organization name or id; default: your first'),
  image: image.optional(),
  runtime: runtime.default('container'),
  env: envMap.optional(),
  resources: resourcesInput.optional(),
  replicas: z.number().int().min(0).max(100).default(1),
  port: z.number().int().min(1).max(65535).default(8080),
  domain: hostname.optional(),
  health_check: healthCheckInput.optional(),
});
export type AppCreate = z.input<typeof appCreate>;

export const appPatch = z.strictObject({
  image: image.optional(),
  runtime: runtime.optional(),
  env: envMap.optional(),
  resources: resourcesInput.optional(),
  replicas: z.number().int().min(0).max(100).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  health_check: healthCheckInput.optional(),
});
export type AppPatch = z.input<typeof appPatch>;

export const appInstance = z.object({
  id: z.string(),
  node_id: z.string(),
  release: z.number().int(),
  state: z.string(),
  health: z.string(),
  routed: z.boolean(),
  address: z.string().nullable(),
  message: z.string().nullable(),
});
export type AppInstance = z.infer<typeof appInstance>;

export const appStatus = z.enum(['deploying', 'running', 'failed', 'stopped']);

export const app = z.object({
  id: z.string(),
  name: z.string(),
  org_id: z.string(),
  image: z.string().nullable(),
  runtime,
  env: z.record(z.string(), z.string()),
  resources: z.object({
    memory: z.string(),
    cpu: z.string(),
    memory_bytes: z.number().int(),
    cpu_milli: z.number().int(),
  }),
  replicas: z.number().int(),
  port: z.number().int(),
  health_check: z.object({ path: z.string(), interval: z.string(), timeout: z.string() }),
  domains: z.array(z.string()),
  status: appStatus,
  url: z.string(),
  release: z
    .object({
      id: z.string(),
      version: z.number().int(),
      image: z.string(),
      image_digest: z.string().nullable(),
    })
    .nullable()
    .describe('the release that serves; null before the first successful deploy'),
  instances: z.array(appInstance),
  created_at: z.string(),
  updated_at: z.string(),
});
export type App = z.infer<typeof app>;
