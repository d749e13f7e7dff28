import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { ImageError } from '../unpack/image-error.js';
import { fileInside, hashFile, hexOfDigest, isObject, readJsonFile, sha256Of } from './archive-files.js';
import { INDEX_TYPES, MANIFEST_TYPES } from './media-types.js';
import type { BlobSink } from './store-port.js';
import type { ImportedImage } from './imported-image.js';

interface Descriptor {
  mediaType: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
}

function descriptors(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw new ImageError('IMPORT_INVALID', `${where} is not a list of descriptors`);
  return value.map((d: unknown, i) => {
    if (!isObject(d) || typeof d.digest !== 'string' || typeof d.mediaType !== 'string') {
      throw new ImageError('IMPORT_INVALID', `${where}[${i}] is not a descriptor with mediaType and digest`);
    }
    hexOfDigest(d.digest, `${where}[${i}]`);
    return {
      mediaType: d.mediaType,
      digest: d.digest,
      ...(typeof d.size === 'number' ? { size: d.size } : {}),
      ...(isObject(d.annotations) ? { annotations: d.annotations as Record<string, string> } : {}),
    };
  });
}

async function blobExists(root: string, digest: string): Promise<boolean> {
  return (
    (await lstat(`${root}/blobs/sha256/${hexOfDigest(digest, 'blob')}`).catch(() => undefined)) !== undefined
  );
}

/** Verifies and stores one descriptor's blob, children first, so the store never names missing content. */
async function importBlob(root: string, desc: Descriptor, store: BlobSink): Promise<void> {
  const rel = `blobs/sha256/${hexOfDigest(desc.digest, desc.mediaType)}`;
  const path = await fileInside(root, rel);
  const mismatch = (actual: string, size: number): ImageError | undefined =>
    actual !== desc.digest
      ? new ImageError('IMPORT_INVALID', `${rel} hashes to ${actual}, not to its name`, { entry: rel })
      : desc.size !== undefined && size !== desc.size
        ? new ImageError('IMPORT_INVALID', `${rel} is ${size} bytes, its descriptor says ${desc.size}`, {
            entry: rel,
          })
        : undefined;

  if (INDEX_TYPES.has(desc.mediaType) || MANIFEST_TYPES.has(desc.mediaType)) {
    const { bytes, json } = await readJsonFile(path, rel);
    const bad = mismatch(sha256Of(bytes), bytes.length);
    if (bad) throw bad;
    if (!isObject(json))
      throw new ImageError('IMPORT_INVALID', `${rel} is not a JSON object`, { entry: rel });
    if (INDEX_TYPES.has(desc.mediaType)) {
      for (const child of descriptors(json.manifests, `${rel} manifests`)) {
        // An index may list platforms that were not saved with it; the ones present are imported.
        if (await blobExists(root, child.digest)) await importBlob(root, child, store);
      }
    } else {
      if (!isObject(json.config))
        throw new ImageError('IMPORT_INVALID', `${rel} has no config descriptor`, { entry: rel });
      for (const child of [
        ...descriptors([json.config], `${rel} config`),
        ...descriptors(json.layers, `${rel} layers`),
      ]) {
        await importBlob(root, child, store);
      }
    }
    if (!(await store.hasBlob(desc.digest))) await store.putBlob(desc.digest, bytes);
    return;
  }
  if (await store.hasBlob(desc.digest)) return;
  const { digest, size } = await hashFile(path);
  const bad = mismatch(digest, size);
  if (bad) throw bad;
  await store.putBlob(desc.digest, createReadStream(path));
}

/** The ref an index.json entry names: Docker writes the full name, umoci and skopeo just a tag. */
function refOf(desc: Descriptor, name: string | undefined): string | undefined {
  const full = desc.annotations?.['io.containerd.image.name'];
  if (full) return full;
  const tag = desc.annotations?.['org.opencontainers.image.ref.name'];
  if (!tag) return undefined;
  const bareTag = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag);
  return bareTag && name !== undefined ? `${name}:${tag}` : tag;
}

/** Imports an OCI image layout directory (oci-layout, index.json, blobs/). */
export async function importOciLayout(
  root: string,
  store: BlobSink,
  name: string | undefined,
): Promise<ImportedImage[]> {
  const layout = await readJsonFile(await fileInside(root, 'oci-layout'), 'oci-layout');
  if (!isObject(layout.json) || layout.json.imageLayoutVersion !== '1.0.0') {
    throw new ImageError('IMPORT_INVALID', 'oci-layout is not {"imageLayoutVersion": "1.0.0"}', {
      entry: 'oci-layout',
    });
  }
  const index = await readJsonFile(await fileInside(root, 'index.json'), 'index.json');
  if (!isObject(index.json))
    throw new ImageError('IMPORT_INVALID', 'index.json is not a JSON object', { entry: 'index.json' });
  const images: ImportedImage[] = [];
  for (const desc of descriptors(index.json.manifests, 'index.json manifests')) {
    if (!INDEX_TYPES.has(desc.mediaType) && !MANIFEST_TYPES.has(desc.mediaType)) {
      throw new ImageError(
        'UNSUPPORTED_MEDIA_TYPE',
        `index.json lists a ${desc.mediaType}, not an image manifest or index`,
      );
    }
    await importBlob(root, desc, store);
    const ref = refOf(desc, name);
    if (ref !== undefined) await store.setRef(ref, desc.digest);
    images.push({ digest: desc.digest, mediaType: desc.mediaType, ...(ref === undefined ? {} : { ref }) });
  }
  return images;
}
