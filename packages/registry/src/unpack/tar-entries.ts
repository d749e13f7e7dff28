import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';

/**
 * Yields the entries of a tar stream one at a time. The caller must consume (or `resume()`) each
 * entry's data before asking for the next: node-tar's parser holds the following entries back
 * until then, which gives backpressure all the way to the file.
 */
export async function* tarEntries(source: Readable): AsyncGenerator<ReadEntry, void, undefined> {
  // strict: a bad checksum or truncated archive is an error, not a warning. The stream is already
  // decompressed, so the parser must not sniff for compression itself (its zstd needs Node 22).
  const parser = new Parser({ strict: true, zstd: false, brotli: false });
  const queue: ReadEntry[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let current: ReadEntry | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  parser.on('entry', (entry: ReadEntry) => {
    // The failure is reported by the generator; a destroyed entry nobody reads must not crash the process.
    entry.on('error', () => {});
    queue.push(entry);
    notify();
  });
  parser.on('end', () => {
    ended = true;
    notify();
  });
  const fail = (err: unknown): void => {
    failure ??= err instanceof Error ? err : new Error(String(err));
    // A caller reading the current entry's data would otherwise wait forever for its end.
    current?.destroy(failure);
    notify();
  };
  parser.on('error', fail);
  source.on('error', fail);
  source.pipe(parser);
  try {
    for (;;) {
      if (failure) throw failure;
      const next = queue.shift();
      if (next) {
        current = next;
        yield next;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    // On early exit (an unsafe entry), stop reading: nothing more will be consumed.
    source.unpipe();
    source.destroy();
  }
}
