// Shared by the child processes of the benchmark: answers the parent's IPC 'rss' probe with this
// process's own memory, measured right after a forced full GC (children run with --expose-gc).

/** Memory of this process after two full collections (the second one frees what finalizers let go). */
export function memoryAfterGc() {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('run this child with node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    // The high-water mark of this process's RSS (kernel: ru_maxrss, in KiB).
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
}

/**
 * Answers { type: 'rss' } with { type: 'rss', ...memoryAfterGc() } and runs `onClose` on { type: 'close' }.
 * The child exits when the parent goes away (its IPC channel disconnects).
 */
export function answerProbes(onClose = async () => {}) {
  process.on('message', (msg) => {
    if (msg?.type === 'rss') {
      process.send({ type: 'rss', ...memoryAfterGc() });
    } else if (msg?.type === 'close') {
      onClose().then(
        () => process.exit(0),
        (e) => {
          console.error(e);
          process.exit(1);
        },
      );
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** The one stdout line the parent waits for before it measures anything. */
export function announceReady(fields = {}) {
  process.stdout.write(`${JSON.stringify({ bench: 'ready', ...fields })}\n`);
}
