import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { sniffCompression } from '../unpack/media-types.js';
import { ImageError } from '../unpack/image-error.js';
import { fileInside, hashFile, isObject, readJsonFile, sha256Of } from './archive-files.js';
import type { ImportedImage } from './imported-image.js';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST } from './media-types.js';
import type { BlobSink } from './store-port.js';

async function head(path: string): Promise<Buffer> {
  const buf = Buffer.alloc(4);
  const fh = await open(path, 'r');
  try {
    await fh.read(buf, 0, 4, 0);
  } finally {
    await fh.close();
  }
  return buf;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
}

/**
 * Imports a pre-OCI `docker save` directory: manifest.json lists, per image, a config file and
 * uncompressed layer tars. There is no registry manifest, so one is synthesized (OCI media types,
 * as skopeo does when converting) and the result looks like a pulled image.
 */
export async function importDockerSave(root: string, store: BlobSink): Promise<ImportedImage[]> {
  const { json } = await readJsonFile(await fileInside(root, 'manifest.json'), 'manifest.json');
  if (!Array.isArray(json))
    throw new ImageError('IMPORT_INVALID', 'manifest.json is not a list of images', {
      entry: 'manifest.json',
    });
  const images: ImportedImage[] = [];
  for (const [i, item] of json.entries()) {
    const where = `manifest.json[${i}]`;
    const layers = isObject(item) ? strings(item.Layers) : undefined;
    if (!isObject(item) || typeof item.Config !== 'string' || layers === undefined) {
      throw new ImageError('IMPORT_INVALID', `${where} has no Config and Layers`, { entry: 'manifest.json' });
    }
    const config = await readJsonFile(await fileInside(root, item.Config), item.Config);
    const diffIds =
      isObject(config.json) && isObject(config.json.rootfs)
        ? strings(config.json.rootfs.diff_ids)
        : undefined;
    if (diffIds?.length !== layers.length) {
      throw new ImageError(
        'IMPORT_INVALID',
        `${item.Config} lists ${diffIds?.length ?? 0} diff_ids for ${layers.length} layers`,
        {
          entry: item.Config,
        },
      );
    }
    const configDigest = sha256Of(config.bytes);
    const layerDescs = [];
    for (const [n, rel] of layers.entries()) {
      const path = await fileInside(root, rel);
      // docker save writes plain tars; a gzip one (seen from other tools) is accepted as such.
      const gzip = sniffCompression(await head(path)) === 'gzip';
      const blob = await hashFile(path);
      const uncompressed = gzip ? await hashFile(path, true) : blob;
      if (uncompressed.digest !== diffIds[n]) {
        throw new ImageError(
          'IMPORT_INVALID',
          `${rel} hashes to ${uncompressed.digest}, but the config's diff_id is ${diffIds[n]}`,
          {
            entry: rel,
          },
        );
      }
      if (!(await store.hasBlob(blob.digest))) await store.putBlob(blob.digest, createReadStream(path));
      layerDescs.push({
        mediaType: gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR,
        digest: blob.digest,
        size: blob.size,
      });
    }
    if (!(await store.hasBlob(configDigest))) await store.putBlob(configDigest, config.bytes);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.bytes.length },
        layers: layerDescs,
      }),
    );
    const digest = sha256Of(manifest);
    if (!(await store.hasBlob(digest))) await store.putBlob(digest, manifest);
    const tags = strings(item.RepoTags) ?? [];
    for (const ref of tags) await store.setRef(ref, digest);
    if (tags.length === 0) images.push({ digest, mediaType: OCI_MANIFEST });
    for (const ref of tags) images.push({ digest, mediaType: OCI_MANIFEST, ref });
  }
  return images;
}
