// The runtime driver contract (STYLE.md §4): every driver implements RuntimeDriver and passes testkit's conformance suite.
export {
  instanceSpecSchema,
  processSpecSchema,
  instanceResourcesSchema,
  instanceNetworkSchema,
  volumeMountSchema,
  artifactSchema,
} from './spec.js';
export type {
  InstanceSpec,
  ProcessSpec,
  InstanceResources,
  InstanceNetwork,
  VolumeMount,
  Artifact,
} from './spec.js';
export { DriverError, isDriverError, driverErrorCodes } from './errors.js';
export { MAX_LOG_BYTES, rotateIfLarge, tailLines } from './log-files.js';
export type { TailOptions } from './log-files.js';
export type { DriverErrorCode } from './errors.js';
export type {
  RuntimeDriver,
  DriverCapabilities,
  DriverFingerprint,
  InstanceHandle,
  InstanceState,
  InstanceStatus,
  InstanceStats,
  JsonValue,
  LogLine,
  LogOptions,
  StopOptions,
} from './driver.js';
