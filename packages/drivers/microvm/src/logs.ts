import { open, rename, stat } from 'node:fs/promises';
import type { LogLine, LogOptions } from '@shellwego/driver-sdk';

// Same policy and reader as the runc driver (packages/drivers/runc/src/logs.ts); copied because drivers depend on
// the SDK only. The serial console writes CRLF line ends, which are trimmed here.

export const MAX_LOG_BYTES = 10 * 1024 * 1024;
const POLL_MS = 200;

/** Size-based rotation at start: QEMU appends to the console file for the VM's whole life. */
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

/** Lines of the console log (guest kernel, init and app output share the serial line: all reported as stdout). */
export async function* readLogLines(path: string, opts: LogOptions): AsyncGenerator<LogLine> {
  let offset = 0;
  let pending = '';
  const first = await stat(path).catch(() => null);
  if (opts.since !== undefined && first !== null && first.mtime < opts.since) offset = first.size;
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
      const at = new Date();
      for (const line of parts) yield { stream: 'stdout', line: line.replace(/\r$/, ''), at };
    }
    if (!opts.follow) {
      if (pending !== '') yield { stream: 'stdout', line: pending.replace(/\r$/, ''), at: new Date() };
      return;
    }
    await sleep(POLL_MS, opts.signal);
  }
}

/** The app's exit code as the guest init printed it on the console, if it did. */
export async function appExitCodeFromLog(path: string): Promise<number | null> {
  const fh = await open(path, 'r').catch(() => null);
  if (fh === null) return null;
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const all = [...buf.toString('utf8').matchAll(/shellwego-init: app exited with code (\d+)/g)];
    const last = all.at(-1)?.[1];
    return last === undefined ? null : Number(last);
  } finally {
    await fh.close();
  }
}
