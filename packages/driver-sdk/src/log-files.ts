import { ftruncateSync, readSync, writeSync } from 'node:fs';
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** Every driver rotates an instance's log file past this size. */
export const MAX_LOG_BYTES = 10 * 1024 * 1024;
const POLL_MS = 200;
/** Bytes a follower remembers from just before its offset, to tell a file truncated and refilled from one grown. */
const FINGERPRINT_BYTES = 64;
const COPY_CHUNK = 1024 * 1024;

export interface RotateOptions {
  /** How many rotated generations to keep (`<path>.1` newest … `<path>.<keep>` oldest); default 1. */
  keep?: number;
  /**
   * Copy the file to `<path>.1`, then truncate it in place, for a file a runtime still appends to (O_APPEND, so the
   * writer continues at the new end); lines written between the copy's last read and the truncation are lost. Without
   * it the file is renamed, which is right only before anything opens it (at start).
   */
  copyTruncate?: boolean;
}

/**
 * Size-based rotation. At start (the default, a rename): a runtime appends to its log file through one descriptor for
 * the instance's whole life (a container's stdout, a VM's serial console), so the file can only be moved aside before
 * it is opened. While it runs: `copyTruncate`. True when the file was rotated.
 */
export async function rotateIfLarge(
  path: string,
  maxBytes = MAX_LOG_BYTES,
  opts: RotateOptions = {},
): Promise<boolean> {
  const keep = opts.keep ?? 1;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a positive integer, got ${keep}`);
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= maxBytes) return false;
  for (let i = keep - 1; i >= 1; i--)
    await rename(`${path}.${String(i)}`, `${path}.${String(i + 1)}`).catch(ignoreMissing);
  if (opts.copyTruncate) await copyThenTruncate(path, `${path}.1`);
  else await rename(path, `${path}.1`);
  return true;
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
}

/**
 * Copies up to the end of the file as it is at each read (so bytes appended during the copy go too), then truncates.
 * The bulk is copied asynchronously; what was appended meanwhile is copied and the file truncated in one synchronous
 * step, so the writer's lines can fall between the last read and the truncation only within a few system calls
 * rather than across trips through the thread pool.
 */
async function copyThenTruncate(path: string, to: string): Promise<void> {
  const src = await open(path, 'r+');
  try {
    const dst = await open(to, 'w', 0o640);
    try {
      const buf = Buffer.alloc(COPY_CHUNK);
      let pos = 0;
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        await dst.write(buf, 0, bytesRead);
        pos += bytesRead;
      }
      for (;;) {
        const n = readSync(src.fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        writeSync(dst.fd, buf, 0, n);
        pos += n;
      }
      ftruncateSync(src.fd, 0);
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
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

export interface TailOptions {
  /** Keep reading new lines (polling the file) until `signal` aborts. */
  follow: boolean;
  signal: AbortSignal;
  /** Skip what the file held when it was last written before this time (for files whose lines carry no time). */
  skipIfOlderThan?: Date | undefined;
  /**
   * Where copy-truncate rotations put the old content, newest first (`<path>.1`, `<path>.2`, …). A follower that
   * finds the file truncated first reads from there what was written after its last read and before the copy (from
   * an older generation when more than one rotation passed between two polls), so a rotation loses no line for it.
   */
  rotated?: readonly string[] | undefined;
}

/** Bytes [from, to) of an open file. */
async function readRange(fh: FileHandle, from: number, to: number): Promise<Buffer> {
  const buf = Buffer.alloc(Math.max(0, to - from));
  const { bytesRead } = await fh.read(buf, 0, buf.length, from);
  return buf.subarray(0, bytesRead);
}

/**
 * What follows `offset` in `path` if the bytes just before it are still `fingerprint` (the same content the reader
 * saw); null when the file changed underneath (truncated, refilled or replaced) or is absent.
 */
async function continuation(path: string, offset: number, fingerprint: Buffer): Promise<Buffer | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await fh.stat();
    if (size < offset) return null;
    const data = await readRange(fh, offset - fingerprint.length, size);
    if (!data.subarray(0, fingerprint.length).equals(fingerprint)) return null;
    return data.subarray(fingerprint.length);
  } finally {
    await fh.close();
  }
}

/**
 * What was written after `offset` of the content a reader followed, now in rotated generations (newest first): the
 * rest of the generation holding its offset, then every newer generation whole. Null when none holds it.
 */
async function catchUp(
  rotated: readonly string[],
  offset: number,
  fingerprint: Buffer,
): Promise<Buffer | null> {
  for (let i = 0; i < rotated.length; i++) {
    const path = rotated[i];
    const rest = path === undefined ? null : await continuation(path, offset, fingerprint);
    if (rest === null) continue;
    const newer: Buffer[] = [];
    for (const p of rotated.slice(0, i).reverse()) newer.push(await readWhole(p));
    return Buffer.concat([rest, ...newer]);
  }
  return null;
}

async function readWhole(path: string): Promise<Buffer> {
  const fh = await open(path, 'r').catch(() => null);
  if (fh === null) return Buffer.alloc(0);
  try {
    return await readRange(fh, 0, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

/**
 * The lines of a log file that a runtime appends to, oldest first, each with the time it was read. A file that
 * shrinks, or whose bytes before the reader's offset changed, was rotated or truncated underneath the reader, which
 * then starts over at its beginning (after catching up from `rotated` when that holds the old content). A last
 * line without its newline is yielded only when not following (it may still be being written).
 */
export async function* tailLines(
  path: string,
  opts: TailOptions,
): AsyncGenerator<{ text: string; readAt: Date }> {
  let offset = 0;
  let fingerprint: Buffer = Buffer.alloc(0);
  let pending = '';
  // Reads end anywhere, also inside a multi-byte character: the decoder keeps its first bytes for the next read.
  let decoder = new StringDecoder('utf8');
  let seen: { size: number; mtimeMs: number; ino: number } | null = null;
  const first = await stat(path).catch(() => null);
  if (opts.skipIfOlderThan !== undefined && first !== null && first.mtime < opts.skipIfOlderThan) {
    offset = first.size;
    const fh = await open(path, 'r').catch(() => null);
    if (fh !== null)
      fingerprint = await readRange(fh, Math.max(0, offset - FINGERPRINT_BYTES), offset).finally(
        () => void fh.close(),
      );
  }
  const take = (data: Buffer): void => {
    offset += data.length;
    fingerprint = Buffer.concat([fingerprint, data]).subarray(-FINGERPRINT_BYTES);
    pending += decoder.write(data);
  };
  for (;;) {
    if (opts.signal.aborted) return;
    const info = await stat(path).catch(() => null);
    const changed =
      info !== null &&
      (seen === null || info.size !== seen.size || info.mtimeMs !== seen.mtimeMs || info.ino !== seen.ino);
    if (info !== null && changed) {
      seen = { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino };
      let more = offset === 0 ? null : await continuation(path, offset, fingerprint);
      if (offset > 0 && more === null) {
        // Rotated underneath: first what the old content held past our offset, then the new file from its start.
        const rest = await catchUp(opts.rotated ?? [], offset, fingerprint);
        if (rest === null) {
          pending = '';
          decoder = new StringDecoder('utf8');
        } else take(rest);
        offset = 0;
        fingerprint = Buffer.alloc(0);
      }
      if (offset === 0) {
        const fh = await open(path, 'r').catch(() => null);
        more =
          fh === null ? Buffer.alloc(0) : await readRange(fh, 0, info.size).finally(() => void fh.close());
      }
      if (more !== null && more.length > 0) take(more);
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
