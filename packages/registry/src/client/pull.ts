import type { ImageReference } from '../reference.js';
import { formatReference, manifestSelector, parseReference } from '../reference.js';
import type { ContentStore, EnsureOutcome } from '../store/content-store.js';
import { DEFAULT_PLATFORM, endpointsFor } from './config.js';
import type { Endpoint, RegistryConfig } from './config.js';
import { algorithmOf, digestMismatch, digestOf, isDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { RegistryClient, errorFromResponse, header } from './http.js';
import { MANIFEST_ACCEPT, parseManifest, selectPlatform } from './manifest.js';
import type { Descriptor, ImageManifest } from './manifest.js';
import { forEachLimited } from './pool.js';
import type { ProgressListener } from './progress.js';

const LAYER_CONCURRENCY = 3;
// Manifests and configs are read into memory; real ones are a few KiB, so this only stops a hostile registry.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export interface PullOptions {
  store: ContentStore;
  config?: RegistryConfig;
  /** Reuse a client (and its token cache) across pulls; otherwise one is made from `config`. */
  client?: RegistryClient;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface PulledLayer {
  digest: string;
  size: number;
  mediaType: string;
}

export interface PullResult {
  /** Canonical reference, the key of the store's ref. */
  reference: string;
  /** Digest of the image manifest (the platform's, when the reference names an index). */
  manifestDigest: string;
  /** Digest of the index or manifest list the reference resolved to, when it was one. */
  indexDigest?: string;
  configDigest: string;
  layers: PulledLayer[];
  /** The image config JSON (architecture, os, config.Entrypoint/Cmd/Env, rootfs.diff_ids…). */
  config: Record<string, unknown>;
  /** Blob bytes (config and layers) this pull fetched from the registry. */
  downloadedBytes: number;
  /** Blob bytes already in the store, or fetched by a concurrent pull in this process. */
  skippedBytes: number;
}

interface Resolved {
  endpoint: Endpoint;
  manifestDigest: string;
  manifestBytes: Uint8Array;
  manifest: ImageManifest;
  index?: { digest: string; bytes: Uint8Array };
}

/**
 * Pulls an image into the store: resolves the reference (through mirrors first), picks the platform from an index,
 * fetches config and layers (three at a time), verifies every digest, and finally points the ref at the manifest.
 */
export async function pull(reference: string | ImageReference, options: PullOptions): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = options.client ?? new RegistryClient(options.config ?? {});
  const { store, signal } = options;
  signal?.throwIfAborted();

  const resolved = await resolveFromEndpoints(client, ref, signal);
  const { endpoint, manifest, manifestDigest } = resolved;
  const scope = pullScope(ref);
  const blobs = [manifest.config, ...manifest.layers];
  const unpin = store.pin([
    manifestDigest,
    ...(resolved.index ? [resolved.index.digest] : []),
    ...blobs.map((b) => b.digest),
  ]);
  try {
    let downloadedBytes = 0;
    let skippedBytes = 0;
    const count = (outcome: EnsureOutcome, size: number): void => {
      if (outcome === 'downloaded') downloadedBytes += size;
      else skippedBytes += size;
    };
    const fetchBlob = (d: Descriptor) => (s: AbortSignal | undefined) =>
      openBlob(client, endpoint, ref, d, scope, s);

    if (manifest.config.size > MAX_CONFIG_BYTES) {
      throw new RegistryError(
        'INVALID_MANIFEST',
        `Image config of ${formatReference(ref)} is ${manifest.config.size} bytes, over the ${MAX_CONFIG_BYTES} limit`,
      );
    }
    count(
      await store.ensureBlob(manifest.config, fetchBlob(manifest.config), { signal }),
      manifest.config.size,
    );
    const config = parseConfig(await store.readBlob(manifest.config.digest), ref);

    for (const layer of manifest.layers) {
      options.onProgress?.({
        digest: layer.digest,
        mediaType: layer.mediaType,
        status: 'waiting',
        done: 0,
        total: layer.size,
      });
    }
    await forEachLimited(manifest.layers, LAYER_CONCURRENCY, async (layer) => {
      const report = (status: 'downloading' | 'skipped' | 'done', done: number): void =>
        options.onProgress?.({
          digest: layer.digest,
          mediaType: layer.mediaType,
          status,
          done,
          total: layer.size,
        });
      const outcome = await store.ensureBlob(layer, fetchBlob(layer), {
        signal,
        onBytes: (done) => report('downloading', done),
      });
      count(outcome, layer.size);
      report(outcome === 'downloaded' ? 'done' : 'skipped', layer.size);
    });

    // Manifests last, the ref at the very end: a ref only ever points at an image whose blobs are all stored.
    if (resolved.index !== undefined) await store.writeBlob(resolved.index.digest, resolved.index.bytes);
    await store.writeBlob(manifestDigest, resolved.manifestBytes);
    const canonical = formatReference(ref);
    await store.setRef(canonical, manifestDigest);

    return {
      reference: canonical,
      manifestDigest,
      ...(resolved.index === undefined ? {} : { indexDigest: resolved.index.digest }),
      configDigest: manifest.config.digest,
      layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      config,
      downloadedBytes,
      skippedBytes,
    };
  } finally {
    unpin();
  }
}

export function pullScope(ref: ImageReference): string {
  return `repository:${ref.repository}:pull`;
}

/** Mirrors first; any mirror failure falls through to the next, the registry's own failure is the answer. */
async function resolveFromEndpoints(
  client: RegistryClient,
  ref: ImageReference,
  signal: AbortSignal | undefined,
): Promise<Resolved> {
  const endpoints = endpointsFor(client.config, ref.registry);
  for (const endpoint of endpoints) {
    try {
      return await resolve(client, endpoint, ref, signal);
    } catch (error) {
      if (!endpoint.mirror || signal?.aborted === true) throw error;
    }
  }
  throw new Error('BUG: endpointsFor returned no registry endpoint');
}

async function resolve(
  client: RegistryClient,
  endpoint: Endpoint,
  ref: ImageReference,
  signal: AbortSignal | undefined,
): Promise<Resolved> {
  const what = formatReference(ref);
  const top = await fetchManifest(client, endpoint, ref, manifestSelector(ref), signal, what);
  if (top.parsed.kind === 'manifest') {
    return { endpoint, manifestDigest: top.digest, manifestBytes: top.bytes, manifest: top.parsed.manifest };
  }
  const platform = client.config.platform ?? DEFAULT_PLATFORM;
  const chosen = selectPlatform(top.parsed.index, platform, `Image index of ${what}`);
  const child = await fetchManifest(
    client,
    endpoint,
    ref,
    chosen.digest,
    signal,
    `Manifest ${chosen.digest} of ${what}`,
  );
  if (child.parsed.kind !== 'manifest') {
    throw new RegistryError(
      'INVALID_MANIFEST',
      `Index entry ${chosen.digest} of ${what} is itself an index; nested indexes are not supported`,
    );
  }
  return {
    endpoint,
    manifestDigest: child.digest,
    manifestBytes: child.bytes,
    manifest: child.parsed.manifest,
    index: { digest: top.digest, bytes: top.bytes },
  };
}

async function fetchManifest(
  client: RegistryClient,
  endpoint: Endpoint,
  ref: ImageReference,
  selector: string,
  signal: AbortSignal | undefined,
  what: string,
): Promise<{ digest: string; bytes: Uint8Array; parsed: ReturnType<typeof parseManifest> }> {
  const response = await client.send(endpoint, {
    method: 'GET',
    path: `/v2/${ref.repository}/manifests/${selector}`,
    scope: pullScope(ref),
    headers: { accept: MANIFEST_ACCEPT },
    signal,
  });
  if (response.statusCode !== 200) {
    const error = await errorFromResponse(response, `Manifest of ${what} on ${endpoint.host}`);
    if (error.code === 'MANIFEST_UNKNOWN') {
      throw new RegistryError('MANIFEST_UNKNOWN', `${what} was not found on ${endpoint.host}`, {
        hint: 'Check the repository name and tag; private images also answer "not found" without credentials',
        cause: error,
      });
    }
    throw error;
  }
  const bytes = await readLimited(response.body, MAX_MANIFEST_BYTES, `Manifest of ${what}`);
  // By digest, the digest is the contract; by tag, the registry's Docker-Content-Digest is checked when present.
  const expected = isDigest(selector) ? selector : header(response, 'docker-content-digest');
  let digest = digestOf(bytes);
  if (expected !== undefined && isDigest(expected)) {
    if (algorithmOf(expected) !== 'sha256') digest = digestOf(bytes, algorithmOf(expected));
    if (digest !== expected) throw digestMismatch(`Manifest of ${what}`, expected, digest);
  }
  return {
    digest,
    bytes,
    parsed: parseManifest(bytes, header(response, 'content-type'), `Manifest of ${what}`),
  };
}

async function openBlob(
  client: RegistryClient,
  endpoint: Endpoint,
  ref: ImageReference,
  blob: Descriptor,
  scope: string,
  signal: AbortSignal | undefined,
): Promise<AsyncIterable<Uint8Array>> {
  const response = await client.send(endpoint, {
    method: 'GET',
    path: `/v2/${ref.repository}/blobs/${blob.digest}`,
    scope,
    signal,
    followRedirects: true,
  });
  if (response.statusCode !== 200) {
    throw await errorFromResponse(
      response,
      `Blob ${blob.digest} of ${formatReference(ref)} on ${endpoint.host}`,
    );
  }
  return wrapStreamErrors(response.body, endpoint, blob.digest, signal);
}

/** A connection dropped mid-blob is a retryable outage, not a bug; the store discards the partial file. */
async function* wrapStreamErrors(
  body: AsyncIterable<Uint8Array>,
  endpoint: Endpoint,
  digest: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason;
    throw new RegistryError(
      'REGISTRY_UNAVAILABLE',
      `Download of blob ${digest} from ${endpoint.host} broke off`,
      { cause: error },
    );
  }
}

async function readLimited(
  body: AsyncIterable<Uint8Array> & { destroy(): void },
  limit: number,
  what: string,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.byteLength;
    if (length > limit) {
      body.destroy();
      throw new RegistryError('INVALID_MANIFEST', `${what} is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseConfig(bytes: Buffer, ref: ImageReference): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new RegistryError('INVALID_MANIFEST', `Image config of ${formatReference(ref)} is not a JSON object`);
}
