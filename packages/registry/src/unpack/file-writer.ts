import { constants } from 'node:fs';
import { chmod, lchown, lutimes, open } from 'node:fs/promises';

export interface FileMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

export interface WriteSettings {
  preserveOwnership: boolean;
  ownUid: number;
  ownGid: number;
}

/** Creates `dest` (which must not exist; never through a symlink) with `data` and its metadata. */
export async function writeSmallFile(
  dest: string,
  data: Buffer,
  meta: FileMeta,
  s: WriteSettings,
): Promise<void> {
  const fh = await open(
    dest,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    if (data.length > 0) await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  if (s.preserveOwnership && (meta.uid !== s.ownUid || meta.gid !== s.ownGid))
    await lchown(dest, meta.uid, meta.gid);
  // After chown, which clears setuid/setgid bits.
  await chmod(dest, meta.mode);
  await lutimes(dest, meta.mtime, meta.mtime);
}

/**
 * Runs file writes concurrently while the tar stream moves on: an image is mostly small files,
 * and one-at-a-time async file operations leave the disk and the thread pool idle. Whoever changes
 * the tree's shape (directories, links, removals) must `drain()` first, so that no write races it.
 */
export class WritePool {
  private readonly running = new Set<Promise<void>>();
  private readonly paths = new Set<string>();
  private failure: unknown;
  private failed = false;

  constructor(private readonly limit = 16) {}

  has(path: string): boolean {
    return this.paths.has(path);
  }

  /** Starts `write` for `path`, first waiting for a free slot. Throws an earlier write's error. */
  async add(path: string, write: () => Promise<void>): Promise<void> {
    this.throwIfFailed();
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.throwIfFailed();
    this.paths.add(path);
    const p: Promise<void> = write()
      .catch((e: unknown) => {
        if (!this.failed) {
          this.failed = true;
          this.failure = e;
        }
      })
      .finally(() => {
        this.running.delete(p);
        this.paths.delete(path);
      });
    this.running.add(p);
  }

  /** Waits for every write started; throws the first failure. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }
}
