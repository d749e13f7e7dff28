import { tailLines, type LogLine, type LogOptions } from '@shellwego/driver-sdk';

export { MAX_LOG_BYTES, rotateIfLarge } from '@shellwego/driver-sdk';

/**
 * Lines of the instance's log file. stdout and stderr share the file (the container inherits one fd for both), so
 * every line is reported as stdout, and lines carry the time they were read: the file holds no timestamps.
 * `since` therefore only skips the existing content when the file was last written before it. A follower carries on
 * across a rotation while the container runs (LogRotation), catching up from `<path>.1` (or older generations).
 */
export async function* readLogLines(
  path: string,
  opts: LogOptions,
  rotatedLogs = 1,
): AsyncGenerator<LogLine> {
  const rotated = Array.from({ length: rotatedLogs }, (_, i) => `${path}.${String(i + 1)}`);
  for await (const { text, readAt } of tailLines(path, { ...opts, skipIfOlderThan: opts.since, rotated }))
    yield { stream: 'stdout', line: text, at: readAt };
}
