import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temp files carry our pid, so a sweep can tell files of a live writer from leftovers of a crashed one. */
export const TEMP_PREFIX = '.tmp-';

export function tempPathIn(dir: string): string {
  return join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** The pid a temp file name carries, or undefined for a name that is not ours. */
export function tempOwnerPid(name: string): number | undefined {
  const match = /^\.tmp-(\d+)-[0-9a-f]+$/.exec(basename(name));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * Writes a file so that readers see the old content or the whole new one, never a prefix: temp file in the same
 * directory (rename is atomic only within a file system), fsync, rename, fsync the directory for the rename.
 * `fill` writes the content and may throw, in which case the temp file is removed and the target untouched.
 */
export async function writeAtomically(
  target: string,
  fill: (file: FileHandle) => Promise<void>,
): Promise<void> {
  const temp = tempPathIn(dirname(target));
  const file = await open(temp, 'wx', 0o644);
  let renamed = false;
  try {
    try {
      await fill(file);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
    renamed = true;
    await syncDir(dirname(target));
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
