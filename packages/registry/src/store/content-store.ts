import { mkdir, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { algorithmOf, digestMismatch, hasherFor, hexOf, isDigest, verifyDigest } from '../client/digest.js';
import { RegistryError } from '../client/errors.js';
import type { ImageIndex, ImageManifest } from '../client/manifest.js';
import { TEMP_PREFIX, tempOwnerPid, writeAtomically } from './atomic-file.js';

/** Where a blob's bytes come from when the store does not have it yet. */
export type BlobSource = (signal: AbortSignal | undefined) => Promise<AsyncIterable<Uint8Array>>;

export interface BlobWant {
  digest: string;
  size: number;
}

export interface EnsureBlobOptions {
  signal?: AbortSignal | undefined;
  /** Bytes written so far, called as they arrive. */
  onBytes?: (done: number) => void;
}

/** `downloaded`: this call fetched it; `present`: it was in the store; `shared`: another pull in this process fetched it. */
export type EnsureOutcome = 'downloaded' | 'present' | 'shared';

export interface StoredRef {
  reference: string;
  digest: string;
}

export interface GcOptions {
  /**
   * Blobs younger than this survive even when unreferenced: another process may be pulling them and not have
   * written its ref yet. Default 10 minutes; tests pass 0.
   */
  graceMs?: number;
}

export interface GcResult {
  removedBlobs: number;
  bytesFreed: number;
}

const DEFAULT_GC_GRACE_MS = 10 * 60_000;
const REFS_DIR = 'refs';

/**
 * Content-addressed blob store `<root>/blobs/<alg>/<hex>` plus one small file per reference under `<root>/refs/`.
 * A blob file, once present under its name, always holds exactly those bytes: they are verified before the rename.
 */
export class ContentStore {
  readonly root: string;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #pins = new Map<string, number>();

  private constructor(root: string) {
    this.root = root;
  }

  static async open(root: string): Promise<ContentStore> {
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(root, 'blobs', 'sha512'), { recursive: true });
    await mkdir(join(root, REFS_DIR), { recursive: true });
    return new ContentStore(root);
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', algorithmOf(digest), hexOf(digest));
  }

  /** True when the blob is stored with the expected size (a wrong size means a foreign write; fetch it again). */
  async has(digest: string, size?: number): Promise<boolean> {
    try {
      const info = await stat(this.blobPath(digest));
      return info.isFile() && (size === undefined || info.size === size);
    } catch {
      return false;
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (error) {
      throw new RegistryError('BLOB_UNKNOWN', `Blob ${digest} is not in the store at ${this.root}`, {
        cause: error,
      });
    }
  }

  /** Stores small content already in memory (manifests), after checking it against its digest. */
  async writeBlob(digest: string, bytes: Uint8Array): Promise<void> {
    verifyDigest(bytes, digest, `Blob ${digest}`);
    if (await this.has(digest, bytes.byteLength)) return;
    await writeAtomically(this.blobPath(digest), async (file) => {
      await file.writeFile(bytes);
    });
  }

  /**
   * Stores a blob from a stream (imports of big layers), hashed while written: on a mismatch or a broken stream
   * the temp file is removed and nothing appears under the blob's name. The stream is always consumed or destroyed.
   */
  async writeBlobStream(digest: string, data: Readable): Promise<void> {
    try {
      if (await this.has(digest)) return;
      await writeAtomically(this.blobPath(digest), async (file) => {
        const hash = hasherFor(digest);
        for await (const chunk of data as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          await file.write(chunk);
        }
        const actual = `${algorithmOf(digest)}:${hash.digest('hex')}`;
        if (actual !== digest) throw digestMismatch(`Blob ${digest}`, digest, actual);
      });
    } finally {
      // Early return or failure: close the caller's file descriptor now rather than at its garbage collection.
      data.destroy();
    }
  }

  /**
   * Makes sure the blob is stored, fetching it from `source` at most once per process at a time: concurrent
   * callers for the same digest wait for the first. Bytes are hashed and counted while written; on a mismatch,
   * an abort or a broken stream the temp file is removed and nothing appears under the blob's name.
   */
  async ensureBlob(
    want: BlobWant,
    source: BlobSource,
    options: EnsureBlobOptions = {},
  ): Promise<EnsureOutcome> {
    for (;;) {
      if (await this.has(want.digest, want.size)) return 'present';
      const running = this.#inFlight.get(want.digest);
      if (running === undefined) break;
      try {
        await abortable(running, options.signal);
        return 'shared';
      } catch (error) {
        // The other pull was aborted by its own caller, not us: try ourselves. Its other failures are ours too.
        if (options.signal?.aborted === true || !isAbortError(error)) throw error;
      }
    }
    const download = this.#download(want, source, options);
    this.#inFlight.set(want.digest, download);
    try {
      await download;
    } finally {
      this.#inFlight.delete(want.digest);
    }
    return 'downloaded';
  }

  async #download(want: BlobWant, source: BlobSource, options: EnsureBlobOptions): Promise<void> {
    const target = this.blobPath(want.digest);
    await writeAtomically(target, async (file) => {
      const hash = hasherFor(want.digest);
      let written = 0;
      const chunks = await source(options.signal);
      for await (const chunk of chunks) {
        written += chunk.byteLength;
        // Stop at once rather than fill the disk when a registry sends more than the descriptor says.
        if (written > want.size) {
          throw new RegistryError(
            'DIGEST_MISMATCH',
            `Blob ${want.digest} is larger than its descriptor's ${want.size} bytes`,
          );
        }
        hash.update(chunk);
        await file.write(chunk);
        options.onBytes?.(written);
      }
      if (written !== want.size) {
        throw new RegistryError(
          'DIGEST_MISMATCH',
          `Blob ${want.digest} has ${written} bytes, its descriptor says ${want.size}`,
        );
      }
      const actual = `${algorithmOf(want.digest)}:${hash.digest('hex')}`;
      if (actual !== want.digest) throw digestMismatch(`Blob ${want.digest}`, want.digest, actual);
    });
  }

  /** Keeps blobs of a pull in progress safe from gc() in this process until the returned function is called. */
  pin(digests: string[]): () => void {
    for (const d of digests) this.#pins.set(d, (this.#pins.get(d) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const d of digests) {
        const n = (this.#pins.get(d) ?? 1) - 1;
        if (n <= 0) this.#pins.delete(d);
        else this.#pins.set(d, n);
      }
    };
  }

  async setRef(reference: string, digest: string): Promise<void> {
    algorithmOf(digest); // throws on a malformed digest: a ref must never point at garbage
    await writeAtomically(this.#refPath(reference), async (file) => {
      await file.writeFile(`${digest}\n`);
    });
  }

  async resolveRef(reference: string): Promise<string | undefined> {
    try {
      const digest = (await readFile(this.#refPath(reference), 'utf8')).trim();
      return isDigest(digest) ? digest : undefined;
    } catch {
      return undefined;
    }
  }

  async list(): Promise<StoredRef[]> {
    const names = await readdir(join(this.root, REFS_DIR));
    const refs: StoredRef[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) continue;
      const reference = decodeURIComponent(name);
      const digest = await this.resolveRef(reference);
      if (digest !== undefined) refs.push({ reference, digest });
    }
    return refs.sort((a, b) => a.reference.localeCompare(b.reference));
  }

  /** Forgets a reference; its blobs go at the next gc() unless another ref reaches them. */
  async remove(reference: string): Promise<boolean> {
    try {
      await unlink(this.#refPath(reference));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /**
   * Mark and sweep: every ref marks its manifest (an index marks its children), a manifest its config and layers;
   * unmarked blobs and temp files of dead writers are deleted.
   */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
    const startedAt = Date.now();
    const marked = new Set<string>([...this.#pins.keys(), ...this.#inFlight.keys()]);
    for (const { digest } of await this.list()) await this.#mark(digest, marked);

    let removedBlobs = 0;
    let bytesFreed = 0;
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const dir = join(this.root, 'blobs', algorithm);
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        const owner = tempOwnerPid(name);
        if (owner !== undefined) {
          if (!isAlive(owner)) bytesFreed += await removeFile(path);
          continue;
        }
        if (marked.has(`${algorithm}:${name}`)) continue;
        const info = await stat(path).catch(() => undefined);
        if (info === undefined || startedAt - info.mtimeMs < graceMs) continue;
        bytesFreed += await removeFile(path);
        removedBlobs++;
      }
    }
    return { removedBlobs, bytesFreed };
  }

  async #mark(digest: string, marked: Set<string>): Promise<void> {
    if (marked.has(digest)) return;
    marked.add(digest);
    let body: Partial<ImageManifest & ImageIndex>;
    try {
      body = JSON.parse((await this.readBlob(digest)).toString('utf8')) as Partial<
        ImageManifest & ImageIndex
      >;
    } catch {
      return; // A ref to a missing or non-JSON blob marks nothing more; a re-pull repairs it.
    }
    if (body.config !== undefined) marked.add(body.config.digest);
    for (const layer of body.layers ?? []) marked.add(layer.digest);
    for (const child of body.manifests ?? []) await this.#mark(child.digest, marked);
  }

  #refPath(reference: string): string {
    // One file per ref: independent atomic writes, so concurrent pulls of different images never lose an update.
    return join(this.root, REFS_DIR, encodeURIComponent(reference));
  }
}

async function removeFile(path: string): Promise<number> {
  try {
    const info = await stat(path);
    await unlink(path);
    return info.size;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isAbortError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR')
  );
}

async function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(asError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(error));
      },
    );
  });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
