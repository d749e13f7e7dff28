import { appendFile } from 'node:fs/promises';
import { rotateIfLarge, tailLines, type LogLine, type LogOptions } from '@shellwego/driver-sdk';

export { MAX_LOG_BYTES } from '@shellwego/driver-sdk';
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

  /**
   * At instance start: rotates a file that grew past MAX_LOG_BYTES (one old generation, `.1`) and creates the file
   * even before the first line, because its existence is how the driver tells an instance the host lost (exited)
   * from one destroyed (unknown).
   */
  static async rotateIfLarge(path: string): Promise<void> {
    await rotateIfLarge(path);
    await appendFile(path, '', { mode: 0o640 });
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

/** Lines of an instance log file, oldest first; with `follow`, keeps polling for new ones until the signal aborts. */
export async function* readLogLines(path: string, opts: LogOptions): AsyncGenerator<LogLine> {
  for await (const { text } of tailLines(path, opts)) {
    const line = parseLogLine(text);
    if (line !== null && (opts.since === undefined || line.at >= opts.since)) yield line;
  }
}
