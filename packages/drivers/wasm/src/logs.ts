import { appendFile, open, rename, stat } from 'node:fs/promises';
import type { LogLine, LogOptions } from '@shellwego/driver-sdk';

export const MAX_LOG_BYTES = 10 * 1024 * 1024;
const POLL_MS = 200;
type Stream = LogLine['stream'];

/** One line of an instance log file: `<ISO time> <stream> <text>`, so logs() can report each line's own time. */
export function formatLogLine(stream: Stream, line: string, at: Date): string {
  return `${at.toISOString()} ${stream} ${line}\n`;
}

export function parseLogLine(text: string): LogLine | null {
  const m = /^(\S+) (stdout|stderr) (.*)$/s.exec(text);
  if (m === null) return null;
  const at = new Date(m[1] ?? '');
  if (Number.isNaN(at.getTime())) return null;
  return { at, stream: m[2] as Stream, line: m[3] ?? '' };
}

/**
 * Appends to one instance's log file. Writes are batched per event-loop turn and the file is opened only for each
 * batch, so thousands of idle instances hold no file descriptors.
 */
export class InstanceLog {
  private pending = '';
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(readonly path: string) {}

  /** Rotates a file that grew past MAX_LOG_BYTES, at instance start (one old generation, `.1`). */
  static async rotateIfLarge(path: string): Promise<void> {
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    if (size > MAX_LOG_BYTES) await rename(path, `${path}.1`);
  }

  /** Writes each line of `text` (a trailing newline does not make an empty line). */
  write(stream: Stream, text: string, at = new Date()): void {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const l of lines) this.pending += formatLogLine(stream, l.endsWith('\r') ? l.slice(0, -1) : l, at);
    if (!this.scheduled && this.pending !== '') {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const batch = this.pending;
        this.pending = '';
        this.flushing = this.flushing.then(() =>
          appendFile(this.path, batch, { mode: 0o640 }).catch(() => undefined),
        );
      });
    }
  }

  /** Resolves once everything written so far is in the file. */
  async flush(): Promise<void> {
    while (this.scheduled || this.pending !== '') await new Promise((r) => setImmediate(r));
    await this.flushing;
  }
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

/** Lines of an instance log file, oldest first; with `follow`, keeps polling for new ones until the signal aborts. */
export async function* readLogLines(path: string, opts: LogOptions): AsyncGenerator<LogLine> {
  let offset = 0;
  let pending = '';
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
      pending = parts.pop() ?? ''; // a line still being written
      for (const text of parts) {
        const line = parseLogLine(text);
        if (line !== null && (opts.since === undefined || line.at >= opts.since)) yield line;
      }
    }
    if (!opts.follow) return;
    await sleep(POLL_MS, opts.signal);
  }
}
