import { join } from 'node:path';
import { DriverError, type InstanceSpec } from '@shellwego/driver-sdk';
import type { z } from 'zod';
import type { instanceSpecSchema } from '@shellwego/driver-sdk';
import { DRIVER_NAME } from './host-client.js';
import type { StartRequest } from './protocol.js';

type ParsedSpec = z.infer<typeof instanceSpecSchema>;

function invalid(spec: InstanceSpec, message: string): DriverError {
  return new DriverError(DRIVER_NAME, 'INVALID_SPEC', `instance ${spec.instanceId}: ${message}`);
}

/** The instance's log file; its name includes the instance id (destroy removes it and its `.1` generation). */
export function logPathOf(spec: Pick<ParsedSpec, 'logDir' | 'instanceId'>): string {
  return join(spec.logDir, `${spec.instanceId}.wasm.log`);
}

/**
 * Turns an instance spec into the host's start request. The module comes from spec.artifact, the listen address
 * from spec.network.ip and PORT in the env, the time limit from REQUEST_TIMEOUT_MS (else the driver's default).
 * Secrets join the env here and travel only over the host's socket, never to a file.
 */
export function toStartRequest(spec: ParsedSpec, defaultTimeoutMs: number): StartRequest {
  if (spec.artifact === undefined)
    throw invalid(spec, 'the wasm runtime needs spec.artifact (the module file and digest)');
  if (spec.network === undefined)
    throw invalid(spec, 'the wasm runtime needs spec.network.ip, the address the instance listens on');
  const env: Record<string, string> = {};
  for (const entry of spec.process.env) {
    const eq = entry.indexOf('=');
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const port = Number(env.PORT);
  if (env.PORT === undefined || !Number.isInteger(port) || port < 1 || port > 65_535)
    throw invalid(
      spec,
      `PORT in process.env must be a TCP port (1-65535), got ${env.PORT === undefined ? 'none' : JSON.stringify(env.PORT)}`,
    );
  let timeoutMs = defaultTimeoutMs;
  if (env.REQUEST_TIMEOUT_MS !== undefined) {
    timeoutMs = Number(env.REQUEST_TIMEOUT_MS);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw invalid(
        spec,
        `REQUEST_TIMEOUT_MS must be a positive whole number of milliseconds, got ${JSON.stringify(env.REQUEST_TIMEOUT_MS)}`,
      );
  }
  for (const v of spec.volumes) {
    // node:wasi preopens carry full rights; enforcing read-only would mean filtering every path_* call.
    if (v.readOnly)
      throw invalid(
        spec,
        `volume ${v.target} is read-only, which the wasm runtime cannot enforce yet; mount it read-write`,
      );
  }
  return {
    id: spec.instanceId,
    module: { path: spec.artifact.path, digest: spec.artifact.digest },
    env: { ...env, ...spec.secrets },
    listen: { ip: spec.network.ip, port },
    memoryLimitBytes: spec.resources.memoryBytes,
    timeoutMs,
    volumes: spec.volumes.map((v) => ({ source: v.source, target: v.target })),
    logPath: logPathOf(spec),
  };
}
