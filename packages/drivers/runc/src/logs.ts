import { open, rename, stat } from 'node:fs/promises';
import type { LogLine, LogOptions } from '@shellwego/driver-sdk';

export const MAX_LOG_BYTES = 10 * 1024 * 1024;
const POLL_MS = 200;

/** Size-based rotation at start: the container appends to its fd for its whole life, so rotating later can't work. */
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

/**
 * Lines of the instance's log file. stdout and stderr share the file (the container inherits one fd for both), so
 * every line is reported as stdout, and lines carry the time they were read: the file holds no timestamps.
 * `since` therefore only skips the existing content when the file was last written before it.
 */
export async function* readLogLines(path: string, opts: LogOptions): AsyncGenerator<LogLine> {
  let offset = 0;
  let pending = '';
  const first = await stat(path).catch(() => null);
  if (opts.since !== undefined && first !== null && first.mtime < opts.since) offset = first.size;
  for (;;) {
    if (opts.signal.aborted) return;
    const info = await stat(path).catch(() => null);
    if (info !== null && info.size < offset) {
      offset = 0; // rotated or truncated underneath us
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
      const at = new Date();
      for (const line of parts) yield { stream: 'stdout', line, at };
    }
    if (!opts.follow) {
      if (pending !== '') yield { stream: 'stdout', line: pending, at: new Date() };
      return;
    }
    await sleep(POLL_MS, opts.signal);
  }
}
