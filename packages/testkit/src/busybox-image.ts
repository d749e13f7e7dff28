// Busybox images built from the host's busybox, pushed to a throwaway registry, so agents and `up` resolve and
// pull real images in tests.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { MediaTypes, RegistryClient, pushImage } from '@shellwego/registry';
import { buildBusyboxRootfs } from './runc.js';
import { makeTempDir, removeDir } from './temp.js';

const execFileAsync = promisify(execFile);
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface BusyboxImage {
  /** `host/repo@sha256:…`, pinned as the control plane sends it. */
  reference: string;
  digest: string;
}

/** One busybox layer (the applets, `files`) with `cmd` as the image's Cmd, pushed to `<registryHost>/<repo>`. */
export async function pushBusyboxImage(
  registryHost: string,
  repo: string,
  opts: { cmd: string[]; files?: Record<string, string> },
): Promise<BusyboxImage> {
  const dir = await makeTempDir('swg-image-');
  try {
    const root = join(dir, 'root');
    await buildBusyboxRootfs(root, {
      applets: ['sh', 'httpd', 'sleep', 'echo', 'cat'],
      ...(opts.files ? { files: opts.files } : {}),
    });
    const tarPath = join(dir, 'layer.tar');
    // Fixed owner and times: equal trees give equal layers, so images share the blob.
    await execFileAsync('tar', [
      '-C',
      root,
      '--owner=0',
      '--group=0',
      '--mtime=@0',
      '--sort=name',
      '-cf',
      tarPath,
      '.',
    ]);
    const tar = await readFile(tarPath);
    const layer = gzipSync(tar);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: opts.cmd, Env: ['PATH=/bin'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: config.byteLength },
        layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: sha256(layer), size: layer.byteLength }],
      }),
    );
    const digest = sha256(manifest);
    await pushImage(new RegistryClient(), `${registryHost}/${repo}:latest`, {
      blobs: [
        { digest: sha256(config), bytes: config },
        { digest: sha256(layer), bytes: layer },
      ],
      manifest: { mediaType: MediaTypes.ociManifest, bytes: manifest },
    });
    return { reference: `${registryHost}/${repo}@${digest}`, digest };
  } finally {
    await removeDir(dir);
  }
}
