import { open, rename, stat } from 'node:fs/promises';

/** Every driver rotates an instance's log file past this size. */
export const MAX_LOG_BYTES = 10 * 1024 * 1024;
const POLL_MS = 200;

/**
 * Size-based rotation, at start: a runtime appends to its log file through one descriptor for the instance's whole
 * life (a container's stdout, a VM's serial console), so the file can only be moved aside before it is opened.
 */
export async function rotateIfLarge(path: string, maxBytes = MAX_LOG_BYTES): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size > maxBytes) await rename(path, `${path}.1`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

export interface TailOptions {
  /** Keep reading new lines (polling the file) until `signal` aborts. */
  follow: boolean;
  signal: AbortSignal;
  /** Skip what the file held when it was last written before this time (for files whose lines carry no time). */
  skipIfOlderThan?: Date | undefined;
}

/**
 * The lines of a log file that a runtime appends to, oldest first, each with the time it was read. A file that
 * shrinks was rotated or truncated underneath the reader, which then starts over. A last line without its newline is
 * yielded only when not following (it may still be being written).
 */
export async function* tailLines(
  path: string,
  opts: TailOptions,
): AsyncGenerator<{ text: string; readAt: Date }> {
  let offset = 0;
  let pending = '';
  const first = await stat(path).catch(() => null);
  if (opts.skipIfOlderThan !== undefined && first !== null && first.mtime < opts.skipIfOlderThan)
    offset = first.size;
  for (;;) {
    if (opts.signal.aborted) return;
    const info = await stat(path).catch(() => null);
    if (info !== null && info.size < offset) {
      offset = 0;
      pending = '';
    }
    if (info !== null && info.size > offset) {
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(info.size - offset);
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        offset += bytesRead;
        pending += buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await fh.close();
      }
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      const readAt = new Date();
      for (const text of parts) yield { text, readAt };
    }
    if (!opts.follow) {
      if (pending !== '') yield { text: pending, readAt: new Date() };
      return;
    }
    await sleep(POLL_MS, opts.signal);
  }
}
