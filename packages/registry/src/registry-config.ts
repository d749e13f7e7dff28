import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { RegistryConfig } from './client/config.js';

/** The operator's registry settings live next to the node's other state: `<dataDir>/registries.json`. */
export const REGISTRY_CONFIG_FILE = 'registries.json';

// Strict objects: a misspelt key ("insecur") would otherwise be ignored and TLS silently used or credentials dropped.
const settingsSchema = z.strictObject({
  insecure: z.boolean().optional(),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  mirrors: z.array(z.string().min(1)).optional(),
});

const platformSchema = z.strictObject({
  os: z.string().min(1),
  architecture: z.string().min(1),
  variant: z.string().min(1).optional(),
});

export const registryConfigSchema = z.strictObject({
  registries: z.record(z.string().min(1), settingsSchema).optional(),
  platform: platformSchema.optional(),
});

/** A registries.json that cannot be used: the message names the file and the offending field. */
export class RegistryConfigError extends Error {
  readonly code = 'REGISTRY_CONFIG_INVALID';
  readonly retryable = false;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryConfigError';
  }
}

/** Validates parsed JSON; `source` names where it came from in the error. */
export function parseRegistryConfig(value: unknown, source: string): RegistryConfig {
  const result = registryConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
  throw new RegistryConfigError(`${source}: ${field}${issue?.message ?? 'invalid'}`, { cause: result.error });
}

/** Reads `<dataDir>/registries.json`; no file means defaults (loopback over HTTP, TLS elsewhere, linux/amd64). */
export async function loadRegistryConfig(dataDir: string): Promise<RegistryConfig> {
  const path = join(dataDir, REGISTRY_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RegistryConfigError(`${path}: cannot be read: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegistryConfigError(`${path}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseRegistryConfig(json, path);
}
