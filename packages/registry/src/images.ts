import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PLATFORM } from './client/config.js';
import type { RegistryConfig } from './client/config.js';
import { RegistryError } from './client/errors.js';
import { RegistryClient } from './client/http.js';
import { parseManifest, selectPlatform } from './client/manifest.js';
import type { ImageManifest } from './client/manifest.js';
import type { ProgressListener } from './client/progress.js';
import { pull } from './client/pull.js';
import { importArchive } from './import/import-archive.js';
import type { BlobSink } from './import/store-port.js';
import type { ImageConfig } from './image-config.js';
import { formatReference, parseReference } from './reference.js';
import { ContentStore } from './store/content-store.js';
import { unpackImage } from './unpack/unpack-image.js';

export interface ImageStoreOptions {
  config?: RegistryConfig;
  /** Reuse a client (and its token cache); otherwise one is made from `config`. */
  client?: RegistryClient;
}

export interface ImagePullOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** An image stored and unpacked, as pull and import report it. */
export interface StoredImage {
  /** Canonical reference (`docker.io/library/nginx:latest`); absent for an imported image the archive left unnamed. */
  reference?: string;
  /** The platform's image manifest digest; the rootfs is keyed by it. */
  digest: string;
  /** Config and layer blobs, compressed, as stored. */
  size: number;
  layers: number;
  rootfs: string;
}

export interface PulledImage extends StoredImage {
  reference: string;
  /** Bytes this pull fetched; 0 when every blob was already stored. */
  downloadedBytes: number;
}

export interface ImageSummary {
  reference: string;
  /** What the ref points at: a manifest, or an index for some imported images. */
  digest: string;
  size: number;
  /** The config's `created`, when the image says. */
  created?: string;
}

export interface PruneOptions {
  /** Blobs and trees younger than this survive: another process may be mid-pull. Default 10 minutes. */
  graceMs?: number;
}

export interface PruneResult {
  removedBlobs: number;
  removedRootfs: number;
  bytesFreed: number;
}

interface ResolvedImage {
  manifestDigest: string;
  manifest: ImageManifest;
}

const DEFAULT_GRACE_MS = 10 * 60_000;

/**
 * One node's images under one directory: the content store (`blobs/`, `refs/`) and the unpacked trees
 * (`rootfs/<hex of manifest digest>`) the runtimes layer their overlays on.
 */
export class ImageStore {
  readonly root: string;
  readonly content: ContentStore;
  readonly #client: RegistryClient;

  private constructor(root: string, content: ContentStore, client: RegistryClient) {
    this.root = root;
    this.content = content;
    this.#client = client;
  }

  static async open(root: string, options: ImageStoreOptions = {}): Promise<ImageStore> {
    const content = await ContentStore.open(root);
    return new ImageStore(root, content, options.client ?? new RegistryClient(options.config ?? {}));
  }

  /** Pulls (only the blobs not stored yet) and unpacks once per manifest digest. */
  async pull(reference: string, options: ImagePullOptions = {}): Promise<PulledImage> {
    const previous = await this.content.resolveRef(canonical(reference));
    const result = await pull(reference, {
      store: this.content,
      client: this.#client,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    let image: StoredImage;
    try {
      image = await this.#unpack(result.manifestDigest);
    } catch (e) {
      // An image that cannot be unpacked (an unsafe or corrupt layer) must not take the name: put back
      // what it pointed to before. Its blobs are unreferenced now and go at the next prune.
      if (previous === undefined) await this.content.remove(result.reference);
      else await this.content.setRef(result.reference, previous);
      throw e;
    }
    return { ...image, reference: result.reference, downloadedBytes: result.downloadedBytes };
  }

  /**
   * The image if this node has it stored and unpacked already, found without the network: by the reference's
   * digest when it is pinned (`repo@sha256:…`), else by its ref. undefined when a pull is needed.
   */
  async local(reference: string): Promise<StoredImage | undefined> {
    const name = canonical(reference);
    const digest = pinnedDigest(reference) ?? (await this.content.resolveRef(name));
    if (digest === undefined || !(await this.content.has(digest))) return undefined;
    let resolved: ResolvedImage;
    try {
      resolved = await this.#resolve(digest, reference);
    } catch {
      return undefined; // An unreadable manifest or a missing platform: a pull repairs or reports it.
    }
    const hex = /^sha256:([0-9a-f]{64})$/.exec(resolved.manifestDigest)?.[1];
    if (hex === undefined) return undefined;
    const rootfs = join(this.root, 'rootfs', hex);
    if (!(await stat(rootfs).catch(() => undefined))?.isDirectory()) return undefined;
    return {
      reference: name,
      digest: resolved.manifestDigest,
      size: sizeOf(resolved.manifest),
      layers: resolved.manifest.layers.length,
      rootfs,
    };
  }

  /** The config of a stored image (by manifest or index digest), for resolveProcess. */
  async imageConfig(digest: string): Promise<ImageConfig> {
    const { manifest } = await this.#resolve(digest, digest);
    const config = (await this.#config(manifest)).config;
    // resolveProcess reads the fields it knows and tolerates their absence; anything but an object means none.
    return typeof config === 'object' && config !== null ? { config } : {};
  }

  /** Imports a `docker save` tarball or an OCI layout (directory or tarball), then unpacks each image in it. */
  async import(path: string, options: { name?: string } = {}): Promise<StoredImage[]> {
    const tempDir = join(this.root, 'tmp');
    // Extract next to the blobs: a big archive must not fill a small /tmp, and renames stay on one filesystem.
    await mkdir(tempDir, { recursive: true, mode: 0o700 });
    const imported = await importArchive(path, {
      store: this.#sink(),
      tempDir,
      ...(options.name === undefined ? {} : { name: options.name }),
    });
    const images: StoredImage[] = [];
    for (const entry of imported) {
      const image = await this.#unpack(entry.digest);
      images.push(entry.ref === undefined ? image : { ...image, reference: canonical(entry.ref) });
    }
    return images;
  }

  async list(): Promise<ImageSummary[]> {
    const summaries: ImageSummary[] = [];
    for (const { reference, digest } of await this.content.list()) {
      const { manifest } = await this.#resolve(digest, reference);
      const created = await this.#created(manifest);
      summaries.push({ reference, digest, size: sizeOf(manifest), ...(created ? { created } : {}) });
    }
    return summaries;
  }

  /** Forgets a reference; its blobs and tree go at the next prune() unless another ref reaches them. */
  async remove(reference: string): Promise<void> {
    if (await this.content.remove(canonical(reference))) return;
    throw new RegistryError('REF_NOT_FOUND', `${reference} is not in the image store at ${this.root}`);
  }

  /** Removes blobs and unpacked trees that no reference reaches. */
  async prune(options: PruneOptions = {}): Promise<PruneResult> {
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    const blobs = await this.content.gc({ graceMs });
    const trees = await sweepRootfs(join(this.root, 'rootfs'), await this.#reachableManifests(), graceMs);
    return {
      removedBlobs: blobs.removedBlobs,
      removedRootfs: trees.removed,
      bytesFreed: blobs.bytesFreed + trees.bytesFreed,
    };
  }

  async #unpack(digest: string): Promise<StoredImage> {
    const { manifestDigest, manifest } = await this.#resolve(digest, digest);
    const config = await this.#config(manifest);
    const unpacked = await unpackImage({
      layers: manifest.layers,
      ...diffIdsOf(config),
      storeRoot: this.root,
      imageDigest: manifestDigest,
    });
    return {
      digest: manifestDigest,
      size: sizeOf(manifest),
      layers: manifest.layers.length,
      rootfs: unpacked.path,
    };
  }

  /** The image manifest a stored digest stands for: itself, or this node's platform's entry of an index. */
  async #resolve(digest: string, what: string): Promise<ResolvedImage> {
    const parsed = parseManifest(await this.content.readBlob(digest), undefined, `Manifest of ${what}`);
    if (parsed.kind === 'manifest') return { manifestDigest: digest, manifest: parsed.manifest };
    const platform = this.#client.config.platform ?? DEFAULT_PLATFORM;
    const chosen = selectPlatform(parsed.index, platform, `Image index of ${what}`);
    const child = parseManifest(await this.content.readBlob(chosen.digest), undefined, `Manifest of ${what}`);
    if (child.kind !== 'manifest') {
      throw new RegistryError(
        'INVALID_MANIFEST',
        `Index entry ${chosen.digest} of ${what} is itself an index`,
      );
    }
    return { manifestDigest: chosen.digest, manifest: child.manifest };
  }

  async #config(manifest: ImageManifest): Promise<Record<string, unknown>> {
    const parsed: unknown = JSON.parse(
      (await this.content.readBlob(manifest.config.digest)).toString('utf8'),
    );
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  }

  async #created(manifest: ImageManifest): Promise<string | undefined> {
    let config: Record<string, unknown>;
    try {
      config = await this.#config(manifest);
    } catch {
      return undefined; // A listing shows what it can; `created` is optional anyway.
    }
    return typeof config.created === 'string' ? config.created : undefined;
  }

  /** Every image manifest a ref reaches, all platforms of an index included (its trees may have been unpacked). */
  async #reachableManifests(): Promise<Set<string>> {
    const reachable = new Set<string>();
    for (const { digest } of await this.content.list()) {
      reachable.add(digest);
      const bytes = await this.content.readBlob(digest).catch(() => undefined);
      if (bytes === undefined) continue;
      try {
        const parsed = parseManifest(bytes, undefined, digest);
        if (parsed.kind === 'index') for (const m of parsed.index.manifests) reachable.add(m.digest);
      } catch {
        // A ref to something unreadable reaches nothing more; a re-pull repairs it.
      }
    }
    return reachable;
  }

  /** The importer's view of the content store: every blob verified again while streamed in, refs canonical. */
  #sink(): BlobSink {
    return {
      putBlob: (digest, data) =>
        Buffer.isBuffer(data)
          ? this.content.writeBlob(digest, data)
          : this.content.writeBlobStream(digest, data),
      hasBlob: (digest) => this.content.has(digest),
      setRef: (ref, digest) => this.content.setRef(canonical(ref), digest),
    };
  }
}

/** `busybox` and `docker.io/library/busybox:latest` are one ref; a name the parser refuses is kept as written. */
function canonical(reference: string): string {
  try {
    return formatReference(parseReference(reference));
  } catch {
    return reference;
  }
}

/** The digest a reference pins, if it pins one and parses. */
function pinnedDigest(reference: string): string | undefined {
  try {
    return parseReference(reference).digest;
  } catch {
    return undefined;
  }
}

function sizeOf(manifest: ImageManifest): number {
  return manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0);
}

function diffIdsOf(config: Record<string, unknown>): { diffIds?: string[] } {
  const rootfs = config.rootfs as { diff_ids?: unknown } | undefined;
  const ids = rootfs?.diff_ids;
  return Array.isArray(ids) && ids.every((d) => typeof d === 'string') ? { diffIds: ids } : {};
}

const TREE_NAME = /^[0-9a-f]{64}$/;
// unpackLayers' work dirs (`.<hex>.partial-…`) and ours being deleted (`.prune-…`): leftovers once a process died.
const LEFTOVER_NAME = /^\.(?:[0-9a-f]{64}\.partial|prune)-/;

/**
 * Deletes trees under `rootfsDir` whose manifest is not in `keep`, and old leftovers of interrupted unpacks.
 * A tree is renamed away before it is deleted: a half-deleted tree under its own name would pass for unpacked.
 */
async function sweepRootfs(
  rootfsDir: string,
  keep: ReadonlySet<string>,
  graceMs: number,
): Promise<{ removed: number; bytesFreed: number }> {
  const names = await readdir(rootfsDir).catch(() => [] as string[]);
  const startedAt = Date.now();
  let removed = 0;
  let bytesFreed = 0;
  for (const name of names) {
    const tree = TREE_NAME.test(name);
    if (!tree && !LEFTOVER_NAME.test(name)) continue;
    if (tree && keep.has(`sha256:${name}`)) continue;
    const path = join(rootfsDir, name);
    const info = await lstat(path).catch(() => undefined);
    // Young trees may belong to a pull in another process that has set its ref after we read the refs.
    if (info === undefined || startedAt - info.mtimeMs < graceMs) continue;
    const doomed = tree ? join(rootfsDir, `.prune-${randomBytes(6).toString('hex')}`) : path;
    if (tree) await rename(path, doomed);
    bytesFreed += await unlockAndMeasure(doomed);
    await rm(doomed, { recursive: true, force: true });
    if (tree) removed++;
  }
  return { removed, bytesFreed };
}

/** Bytes of regular files in the tree; directories made writable on the way (images ship 0555 dirs). */
async function unlockAndMeasure(dir: string): Promise<number> {
  await chmod(dir, 0o700);
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += await unlockAndMeasure(path);
    else if (entry.isFile()) bytes += (await lstat(path)).size;
  }
  return bytes;
}
