import { rotateIfLarge } from '@shellwego/driver-sdk';

export interface LogRotationOptions {
  /** How often the watched files' sizes are checked. */
  intervalMs: number;
  maxBytes: number;
  /** Rotated generations kept beside each file (`.1` … `.<keep>`). */
  keep: number;
}

/**
 * Rotates the log files of running containers past `maxBytes`, by copy-then-truncate: the container's stdout stays
 * open on the file for its whole life, appending (O_APPEND), so it carries on at the new end. One timer per driver
 * for all its files, unref'd so it never keeps a process alive; it runs only while some file is watched.
 */
export class LogRotation {
  private readonly paths = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(private readonly opts: LogRotationOptions) {}

  watch(path: string): void {
    this.paths.add(path);
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.checkNow(), this.opts.intervalMs);
    this.timer.unref();
  }

  unwatch(path: string): void {
    this.paths.delete(path);
    if (this.paths.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check of every watched file; a check already under way is joined rather than doubled. */
  async checkNow(): Promise<void> {
    this.checking ??= (async () => {
      for (const path of [...this.paths]) {
        // A file that vanished (destroy) or cannot be copied now is tried again at the next tick.
        await rotateIfLarge(path, this.opts.maxBytes, { keep: this.opts.keep, copyTruncate: true }).catch(
          () => false,
        );
      }
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }
}
