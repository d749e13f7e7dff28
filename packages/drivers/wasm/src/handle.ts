import { DriverError, type InstanceHandle } from '@shellwego/driver-sdk';
import { z } from 'zod';
import { DRIVER_NAME } from './host-client.js';

/** What the driver needs to find an instance again after an agent restart: stored in InstanceHandle.driverState. */
const wasmDriverStateSchema = z.object({
  /** Where the node's host lives (its socket is in here). */
  stateDir: z.string().startsWith('/'),
  logPath: z.string().startsWith('/'),
  startedAt: z.string(),
});
export type WasmDriverState = z.infer<typeof wasmDriverStateSchema>;

export function makeHandle(instanceId: string, state: WasmDriverState): InstanceHandle {
  return { driver: DRIVER_NAME, instanceId, version: 1, driverState: { ...state } };
}

/** Validates a handle the agent kept (possibly from disk, possibly from an older agent) before trusting its paths. */
export function parseHandle(handle: InstanceHandle): WasmDriverState {
  if (handle.driver !== DRIVER_NAME || handle.version !== 1)
    throw new DriverError(
      DRIVER_NAME,
      'INVALID_HANDLE',
      `handle for ${handle.driver} v${handle.version} is not a wasm v1 handle`,
    );
  const parsed = wasmDriverStateSchema.safeParse(handle.driverState);
  if (!parsed.success)
    throw new DriverError(
      DRIVER_NAME,
      'INVALID_HANDLE',
      `handle of ${handle.instanceId} has malformed driverState: ${parsed.error.message}`,
    );
  return parsed.data;
}
