import { z } from 'zod';
import { envMap } from './common.js';
import { image, resourcesInput, runtime } from './apps.js';

/** How a deployment replaces instances: one at a time (max surge 1, max unavailable 0) or all at once. */
export const strategy = z.enum(['rolling', 'bluegreen']);
export type Strategy = z.infer<typeof strategy>;

export const deploymentStatuses = [
  'pending',
  'pulling',
  'starting',
  'health_checking',
  'switching',
  'succeeded',
  'failed',
  'rolled_back',
  'cancelled',
] as const;
export const deploymentStatus = z.enum(deploymentStatuses);
export type DeploymentStatus = z.infer<typeof deploymentStatus>;
export const finishedDeploymentStatuses: readonly DeploymentStatus[] = [
  'succeeded',
  'failed',
  'rolled_back',
  'cancelled',
];

export const deploymentCreate = z.strictObject({
  image: image
    .optional()
    .describe('an image reference, or for runtime wasm the digest of an uploaded module'),
  runtime: runtime.optional().describe('switch the app to this runtime with this deploy'),
  env: envMap.optional(),
  resources: resourcesInput.optional(),
  strategy: strategy.optional(),
  timeout: z.string().max(16).optional().describe('how long the rollout may take, e.g. 5m (default 10m)'),
});
export type DeploymentCreate = z.input<typeof deploymentCreate>;

/** The seed's form: `POST /v1/deployments {app_id, image, resources, env}`. */
export const seedDeploymentCreate = deploymentCreate.extend({ app_id: z.string().min(1).max(128) });

export const rollbackRequest = z.strictObject({
  release: z.number().int().min(1).optional().describe('the release version; default: the one before'),
});

export const deploymentStep = z.object({ at: z.string(), status: deploymentStatus, message: z.string() });

export const deployment = z.object({
  id: z.string(),
  app_id: z.string(),
  release: z.number().int(),
  release_id: z.string(),
  strategy,
  status: deploymentStatus,
  reason: z.string().nullable(),
  steps: z.array(deploymentStep),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
});
export type Deployment = z.infer<typeof deployment>;

export const release = z.object({
  id: z.string(),
  app_id: z.string(),
  version: z.number().int(),
  image: z.string(),
  image_digest: z.string().nullable(),
  runtime: z.string(),
  env: z.record(z.string(), z.string()),
  resources: z.object({ memory_bytes: z.number().int(), cpu_milli: z.number().int() }),
  replicas: z.number().int(),
  port: z.number().int(),
  health_check: z.object({ path: z.string(), interval_ms: z.number().int(), timeout_ms: z.number().int() }),
  secret_versions: z.record(z.string(), z.number().int()),
  current: z.boolean(),
  created_at: z.string(),
});
export type Release = z.infer<typeof release>;

/** One message of `GET /v1/events`. */
export const platformEvent = z.object({
  seq: z.number().int(),
  type: z.string(),
  resource: z.string(),
  id: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: z.string(),
});
export type PlatformEvent = z.infer<typeof platformEvent>;
