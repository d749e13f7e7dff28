import type { Platform } from './config.js';
import { isDigest } from './digest.js';
import { RegistryError } from './errors.js';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Sent on every manifest GET: without it a registry may fall back to schema1, or 404 an OCI manifest. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
].join(', ');

const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
  urls?: string[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/** Dispatches on Content-Type (parameters ignored), falling back to the body's mediaType for generic types. */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  what: string,
): ParsedManifest {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new RegistryError('INVALID_MANIFEST', `${what} is not valid JSON`, { cause: error });
  }
  if (!isObject(body)) throw new RegistryError('INVALID_MANIFEST', `${what} is not a JSON object`);
  const declared = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  const header = contentType?.split(';')[0]?.trim().toLowerCase();
  const generic =
    header === undefined || header === '' || header === 'application/json' || header === 'text/plain';
  const mediaType = generic ? declared : header;
  if (mediaType === undefined)
    throw new RegistryError('INVALID_MANIFEST', `${what} has neither a Content-Type nor a mediaType`);
  if (declared !== undefined && declared !== mediaType) {
    throw new RegistryError(
      'INVALID_MANIFEST',
      `${what} was served as ${mediaType} but declares mediaType ${declared}`,
    );
  }
  if (body.schemaVersion !== 2) {
    throw new RegistryError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${what} has schemaVersion ${String(body.schemaVersion)}; only schema 2 is supported`,
    );
  }
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(body.manifests))
      throw new RegistryError('INVALID_MANIFEST', `${what} is an index without "manifests"`);
    body.manifests.forEach((d, i) => checkDescriptor(d, `${what} manifests[${i}]`));
    return { kind: 'index', mediaType, index: body as unknown as ImageIndex };
  }
  if (MANIFEST_TYPES.has(mediaType)) {
    checkDescriptor(body.config, `${what} config`);
    if (!Array.isArray(body.layers))
      throw new RegistryError('INVALID_MANIFEST', `${what} has no "layers" array`);
    body.layers.forEach((d, i) => checkDescriptor(d, `${what} layers[${i}]`));
    return { kind: 'manifest', mediaType, manifest: body as unknown as ImageManifest };
  }
  throw new RegistryError(
    'UNSUPPORTED_MEDIA_TYPE',
    `${what} has media type ${mediaType}, which is not an OCI or Docker schema 2 manifest or index`,
    {
      hint: 'Legacy schema 1 images must be re-pushed with a current client',
    },
  );
}

function checkDescriptor(value: unknown, what: string): asserts value is Descriptor {
  if (!isObject(value)) throw new RegistryError('INVALID_MANIFEST', `${what} is not a descriptor object`);
  if (typeof value.mediaType !== 'string')
    throw new RegistryError('INVALID_MANIFEST', `${what} has no mediaType`);
  if (!isDigest(value.digest))
    throw new RegistryError(
      'INVALID_MANIFEST',
      `${what} has an invalid digest ${JSON.stringify(value.digest)}`,
    );
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    throw new RegistryError('INVALID_MANIFEST', `${what} has an invalid size ${JSON.stringify(value.size)}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? '' : `/${p.variant}`}`;
}

/**
 * Picks the index entry for `wanted`. Attestation entries (unknown/unknown) never match. Without a wanted variant
 * the first entry of the right os/arch wins; arm64 entries without a variant count as v8.
 */
export function selectPlatform(index: ImageIndex, wanted: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter((d) => {
    const p = d.platform;
    if (p === undefined || p.os === 'unknown' || p.architecture === 'unknown') return false;
    if (!MANIFEST_TYPES.has(d.mediaType)) return false;
    return p.os === wanted.os && p.architecture === wanted.architecture;
  });
  const match =
    wanted.variant === undefined
      ? candidates[0]
      : candidates.find(
          (d) =>
            (d.platform?.variant ?? (wanted.architecture === 'arm64' ? 'v8' : undefined)) === wanted.variant,
        );
  if (match === undefined) {
    const available = index.manifests
      .flatMap((d) =>
        d.platform === undefined || d.platform.os === 'unknown' ? [] : [formatPlatform(d.platform)],
      )
      .join(', ');
    throw new RegistryError(
      'PLATFORM_NOT_FOUND',
      `${what} has no image for ${formatPlatform(wanted)} (available: ${available || 'none'})`,
      {
        hint: 'Set platform in the registry configuration, or pull an image built for this platform',
      },
    );
  }
  return match;
}
