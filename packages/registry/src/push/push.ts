import { endpointsFor } from '../client/config.js';
import type { Endpoint } from '../client/config.js';
import { digestOf, verifyDigest } from '../client/digest.js';
import { RegistryError } from '../client/errors.js';
import { errorFromResponse, header } from '../client/http.js';
import type { RegistryClient } from '../client/http.js';
import type { ImageReference } from '../reference.js';
import { formatReference, manifestSelector, parseReference } from '../reference.js';

export interface PushBlob {
  digest: string;
  bytes: Uint8Array;
}

export interface PushManifest {
  mediaType: string;
  bytes: Uint8Array;
}

export interface PushImageInput {
  blobs: PushBlob[];
  /** Manifests pushed by digest before the last one (an index's children). */
  children?: PushManifest[];
  /** Pushed under the reference's tag (or digest). */
  manifest: PushManifest;
}

/**
 * Minimal push: each blob with a monolithic upload (POST then PUT ?digest=), skipped when the registry has it,
 * then the manifests. Enough to seed a registry with images made in code; no chunked uploads or cross-mounts.
 */
export async function pushImage(
  client: RegistryClient,
  reference: string | ImageReference,
  image: PushImageInput,
  signal?: AbortSignal,
): Promise<string> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const endpoint = registryEndpoint(client, ref);
  for (const blob of image.blobs) await pushBlob(client, endpoint, ref, blob, signal);
  for (const child of image.children ?? []) {
    await pushManifest(client, endpoint, ref, digestSelector(child), child, signal);
  }
  return pushManifest(client, endpoint, ref, manifestSelector(ref), image.manifest, signal);
}

function registryEndpoint(client: RegistryClient, ref: ImageReference): Endpoint {
  const endpoint = endpointsFor(client.config, ref.registry).at(-1);
  if (endpoint === undefined) throw new Error('BUG: no endpoint for a push');
  return endpoint;
}

function pushScope(ref: ImageReference): string {
  return `repository:${ref.repository}:pull,push`;
}

function digestSelector(manifest: PushManifest): string {
  return digestOf(manifest.bytes);
}

export async function pushBlob(
  client: RegistryClient,
  endpoint: Endpoint,
  ref: ImageReference,
  blob: PushBlob,
  signal?: AbortSignal,
): Promise<void> {
  verifyDigest(blob.bytes, blob.digest, `Blob ${blob.digest} to push`);
  const scope = pushScope(ref);
  const what = `Push of blob ${blob.digest} to ${formatReference(ref)}`;
  const head = await client.send(endpoint, {
    method: 'HEAD',
    path: `/v2/${ref.repository}/blobs/${blob.digest}`,
    scope,
    signal,
  });
  await head.body.dump();
  if (head.statusCode === 200) return;

  const start = await client.send(endpoint, {
    method: 'POST',
    path: `/v2/${ref.repository}/blobs/uploads/`,
    scope,
    signal,
  });
  if (start.statusCode !== 202) throw await errorFromResponse(start, what);
  await start.body.dump();
  const location = header(start, 'location');
  if (location === undefined)
    throw new RegistryError('REGISTRY_ERROR', `${what}: the registry gave no upload Location`);
  const upload = new URL(location, endpoint.origin);
  upload.searchParams.set('digest', blob.digest);
  const put = await client.send(endpoint, {
    method: 'PUT',
    path: upload.href,
    scope,
    signal,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.bytes.byteLength) },
    body: blob.bytes,
  });
  if (put.statusCode !== 201) throw await errorFromResponse(put, what);
  await put.body.dump();
}

/** PUTs a manifest; returns the digest the registry reports (or ours). */
export async function pushManifest(
  client: RegistryClient,
  endpoint: Endpoint,
  ref: ImageReference,
  selector: string,
  manifest: PushManifest,
  signal?: AbortSignal,
): Promise<string> {
  const response = await client.send(endpoint, {
    method: 'PUT',
    path: `/v2/${ref.repository}/manifests/${selector}`,
    scope: pushScope(ref),
    signal,
    headers: { 'content-type': manifest.mediaType },
    body: manifest.bytes,
  });
  if (response.statusCode !== 201)
    throw await errorFromResponse(response, `Push of manifest ${selector} to ${formatReference(ref)}`);
  await response.body.dump();
  return header(response, 'docker-content-digest') ?? digestSelector(manifest);
}
