// Test-only (excluded from the build by its name): builds OCI images in memory for tests to push and pull.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { create } from 'tar';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import type { Platform } from './client/config.js';
import { MediaTypes } from './client/manifest.js';
import type { Descriptor } from './client/manifest.js';
import type { PushBlob, PushImageInput, PushManifest } from './push/push.js';
import { pushImage } from './push/push.js';
import { RegistryClient } from './client/http.js';

export type TestLayerSpec =
  | {
      /** path → content; paths are relative to the image root. */
      files: Record<string, string | Uint8Array>;
    }
  | {
      /** An uncompressed tar as it is, e.g. with entries node-tar refuses to write (unpack/test-tar.ts). */
      rawTar: Buffer;
    };

export interface TestImage {
  layers: (Descriptor & { bytes: Buffer; diffId: string })[];
  config: Record<string, unknown>;
  configBlob: PushBlob;
  manifest: PushManifest;
  manifestDigest: string;
  /** Everything pushImage needs. */
  push: PushImageInput;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A gzip tar layer, deterministic (fixed mtime, portable headers) so equal files make equal digests. */
export async function buildLayer(
  spec: TestLayerSpec,
): Promise<{ bytes: Buffer; digest: string; diffId: string }> {
  if ('rawTar' in spec) {
    const bytes = gzipSync(spec.rawTar);
    return { bytes, digest: sha256(bytes), diffId: sha256(spec.rawTar) };
  }
  const dir = await makeTempDir('test-layer-');
  try {
    const paths = Object.keys(spec.files).sort();
    for (const path of paths) {
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, spec.files[path] ?? '');
    }
    const chunks: Buffer[] = [];
    const stream = create({ cwd: dir, gzip: true, portable: true, mtime: new Date(0) }, paths);
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    return { bytes, digest: sha256(bytes), diffId: sha256(gunzipSync(bytes)) };
  } finally {
    await removeDir(dir);
  }
}

export async function buildTestImage(options: {
  layers: TestLayerSpec[];
  config?: Record<string, unknown>;
  platform?: Platform;
}): Promise<TestImage> {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = [];
  for (const spec of options.layers) {
    const layer = await buildLayer(spec);
    layers.push({
      mediaType: MediaTypes.ociLayerGzip,
      digest: layer.digest,
      size: layer.bytes.byteLength,
      bytes: layer.bytes,
      diffId: layer.diffId,
    });
  }
  const config = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: options.config ?? { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob = { digest: sha256(configBytes), bytes: configBytes };
  const manifestBody = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: configBlob.digest, size: configBytes.byteLength },
    layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
  };
  const manifest = { mediaType: MediaTypes.ociManifest, bytes: Buffer.from(JSON.stringify(manifestBody)) };
  return {
    layers,
    config,
    configBlob,
    manifest,
    manifestDigest: sha256(manifest.bytes),
    push: { blobs: [configBlob, ...layers.map((l) => ({ digest: l.digest, bytes: l.bytes }))], manifest },
  };
}

/** An OCI index over `images`, each entry carrying its platform (unknown/unknown makes an attestation-like entry). */
export function buildTestIndex(
  images: { image: TestImage; platform: Platform }[],
): PushImageInput & { digest: string } {
  const body = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      ...images.map(({ image, platform }) => ({
        mediaType: MediaTypes.ociManifest,
        digest: image.manifestDigest,
        size: image.manifest.bytes.byteLength,
        platform,
      })),
    ],
  };
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    blobs: images.flatMap(({ image }) => image.push.blobs),
    children: images.map(({ image }) => image.manifest),
    manifest: { mediaType: MediaTypes.ociIndex, bytes },
    digest: sha256(bytes),
  };
}

/** Pushes `image` to `<registryHost>/<repo>` with our own push code and returns the reference. */
export async function pushTestImage(registryHost: string, repo: string, image: TestImage): Promise<string> {
  const ref = `${registryHost}/${repo}`;
  await pushImage(new RegistryClient(), ref, image.push);
  return ref;
}

/** An OCI image layout (blobs, index.json, oci-layout) of `image` as `<dir>/layout.tar`, naming it `name`. */
export async function ociLayoutTarball(image: TestImage, name: string, dir: string): Promise<string> {
  const layout = join(dir, 'layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const blobs = [
    image.configBlob,
    ...image.layers,
    { digest: image.manifestDigest, bytes: image.manifest.bytes },
  ];
  for (const blob of blobs)
    await writeFile(join(layout, 'blobs', 'sha256', blob.digest.slice(7)), blob.bytes);
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = [
    {
      mediaType: image.manifest.mediaType,
      digest: image.manifestDigest,
      size: image.manifest.bytes.byteLength,
      annotations: { 'org.opencontainers.image.ref.name': name },
    },
  ];
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  const file = join(dir, 'layout.tar');
  await create({ file, cwd: layout, portable: true }, ['oci-layout', 'index.json', 'blobs']);
  return file;
}
