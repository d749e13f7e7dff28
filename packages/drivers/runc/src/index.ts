// The runc runtime driver: one OCI bundle and container per instance.
export { RuncDriver, type RuncDriverOptions } from './driver.js';
export { buildOciConfig, SECRETS_MOUNT } from './oci-config.js';
export { MAX_LOG_BYTES } from './logs.js';
