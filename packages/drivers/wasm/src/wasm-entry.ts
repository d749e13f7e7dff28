/** argv[0] that makes a process the per-node wasm host. */
export const HOST_ROLE = '__wasm-host';
/** argv[0] that makes a worker thread a module runner. */
export const WORKER_ROLE = '__wasm-worker';

/**
 * Runs the host or worker role when argv[0] asks for it and returns true; returns false otherwise. A program that
 * embeds the driver in one bundle calls this first thing in its main, with the arguments after its `entry.args`,
 * and does nothing else when it returns true. The roles are loaded lazily, so other commands never load node:wasi.
 */
export async function wasmEntry(argv: readonly string[]): Promise<boolean> {
  if (argv[0] === HOST_ROLE) {
    const { runHost } = await import('./host.js');
    await runHost(argv.slice(1));
    return true;
  }
  if (argv[0] === WORKER_ROLE) {
    const { runWorker } = await import('./worker.js');
    await runWorker();
    return true;
  }
  return false;
}
