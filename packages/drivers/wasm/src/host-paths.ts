import { join } from 'node:path';

/** Files of the per-node host in the driver's state dir. None names an instance, so destroy leaves nothing behind. */
export function hostPaths(stateDir: string): { socket: string; pidFile: string; logFile: string } {
  return {
    socket: join(stateDir, 'wasm-host.sock'),
    pidFile: join(stateDir, 'wasm-host.pid'),
    logFile: join(stateDir, 'wasm-host.log'),
  };
}

/** Linux's sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;
