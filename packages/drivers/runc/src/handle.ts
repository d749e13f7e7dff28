import { DriverError, type InstanceHandle } from '@shellwego/driver-sdk';
import { parseRuncDriverState, type RuncDriverState } from './state.js';

export const DRIVER_NAME = 'runc';

export function makeHandle(instanceId: string, state: RuncDriverState): InstanceHandle {
  return { driver: DRIVER_NAME, instanceId, version: 1, driverState: state };
}

/** Validates a handle the agent kept (possibly from disk, possibly from an older agent) before trusting its paths. */
export function parseHandle(handle: InstanceHandle): RuncDriverState {
  if (handle.driver !== DRIVER_NAME || handle.version !== 1) {
    throw new DriverError(
      DRIVER_NAME,
      'INVALID_HANDLE',
      `handle for ${handle.driver} v${handle.version} is not a runc v1 handle`,
    );
  }
  const parsed = parseRuncDriverState(handle.driverState);
  if (parsed === null) {
    throw new DriverError(
      DRIVER_NAME,
      'INVALID_HANDLE',
      `handle of ${handle.instanceId} has malformed driverState`,
    );
  }
  return parsed;
}
