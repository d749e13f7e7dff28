import { open } from 'node:fs/promises';
import { tailLines, type LogLine, type LogOptions } from '@shellwego/driver-sdk';

export { MAX_LOG_BYTES, rotateIfLarge } from '@shellwego/driver-sdk';

/**
 * Lines of the console log (guest kernel, init and app output share the serial line: all reported as stdout). The
 * serial console writes CRLF line ends, which are trimmed here.
 */
export async function* readLogLines(path: string, opts: LogOptions): AsyncGenerator<LogLine> {
  for await (const { text, readAt } of tailLines(path, { ...opts, skipIfOlderThan: opts.since }))
    yield { stream: 'stdout', line: text.replace(/\r$/, ''), at: readAt };
}

/**
 * The app's exit code as the guest init printed it on the console, if it did; or the code init reports when it could
 * not start the app at all (a volume or the root that would not mount).
 */
export async function appExitCodeFromLog(path: string): Promise<number | null> {
  const fh = await open(path, 'r').catch(() => null);
  if (fh === null) return null;
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const all = [
      ...buf
        .toString('utf8')
        .matchAll(/shellwego-init: (?:app exited with code|boot failed, exit code) (\d+)/g),
    ];
    const last = all.at(-1)?.[1];
    return last === undefined ? null : Number(last);
  } finally {
    await fh.close();
  }
}
