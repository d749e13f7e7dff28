/**
 * Last-resort cleanup for when a test run dies before its `finally` blocks and teardowns run: the process exits,
 * or is interrupted. Callbacks must be synchronous because nothing asynchronous runs after 'exit'.
 */
type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
let installed = false;

/** Registers `fn` to run once at exit, SIGINT or SIGTERM. Call the returned function once the normal path cleaned up. */
export function onExitCleanup(fn: Cleanup): () => void {
  installHooks();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

function runCleanups(): void {
  // Newest first, like nested `finally` blocks: a server registered after its directory is stopped before rm.
  const pending = [...cleanups].reverse();
  cleanups.clear();
  for (const fn of pending) {
    try {
      fn();
    } catch {
      // Best effort: one failing cleanup must not keep the others from running.
    }
  }
}

function installHooks(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      runCleanups();
      // A listener replaces Node's default "die on signal". When nobody else (such as vitest) handles the signal,
      // restore that default by re-raising it, so an interrupted process still ends.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, handler);
  }
}
