// Public helpers for tests that run against real servers. See /work/shared/TESTING.md for the recipes.
export { freePort } from './ports.js';
export { makeTempDir, removeDir } from './temp.js';
export { onExitCleanup } from './exit-cleanup.js';
export { startPostgres } from './postgres.js';
export type { PostgresServer, StartPostgresOptions } from './postgres.js';
export { startRegistry, type RegistryServer, type StartRegistryOptions } from './registry.js';
export { startPebble, type PebbleServer, type StartPebbleOptions } from './pebble.js';

// A real control plane in-process, and a JSON request helper.
export { startTestControlPlane, request } from './control-plane.js';
export type { TestControlPlane, TestResponse } from './control-plane.js';
export { CLI_ENTRY, runCli, startShellwegoProcess, type CliResult, type ShellwegoProcess } from './cli.js';
export { buildBusyboxRootfs, mountsUnder, registerRuncExitCleanup } from './runc.js';
export { pushBusyboxImage } from './busybox-image.js';
export type { BusyboxImage } from './busybox-image.js';
export { selfSignedCertificate, type SelfSignedCertificate } from './certificates.js';
