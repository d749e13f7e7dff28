import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar';
import { ImageError } from '../unpack/image-error.js';
import { importDockerSave } from './docker-save.js';
import type { ImportedImage } from './imported-image.js';
import { importOciLayout } from './oci-layout.js';
import type { BlobSink } from './store-port.js';

export interface ImportOptions {
  store: BlobSink;
  /** Repository for refs that an OCI layout gives as a bare tag (umoci, skopeo): `name:tag`. */
  name?: string;
  /** Where a tarball is extracted first; default os.tmpdir(). Put it on the store's filesystem for big images. */
  tempDir?: string;
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

async function importDirectory(dir: string, opts: ImportOptions): Promise<ImportedImage[]> {
  // Docker 25+ writes an OCI layout next to its manifest.json: that carries the real manifests.
  if ((await exists(join(dir, 'oci-layout'))) && (await exists(join(dir, 'index.json')))) {
    return importOciLayout(dir, opts.store, opts.name);
  }
  if (await exists(join(dir, 'manifest.json'))) return importDockerSave(dir, opts.store);
  throw new ImageError(
    'IMPORT_INVALID',
    `${dir} is neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)`,
  );
}

/**
 * Imports a `docker save` tarball or an OCI image layout (directory or tarball) into the store:
 * every blob verified against its digest, children stored before the manifests naming them, refs set.
 */
export async function importArchive(path: string, opts: ImportOptions): Promise<ImportedImage[]> {
  const st = await lstat(path).catch((e: unknown) => {
    throw new ImageError('IMPORT_INVALID', `cannot read ${path}`, { cause: e });
  });
  if (st.isDirectory()) return importDirectory(path, opts);
  const dir = join(opts.tempDir ?? tmpdir(), `import-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  try {
    try {
      // node-tar strips `..` and leading `/` and will not write through symlinks; ownership and
      // modes are irrelevant here, only the bytes are read back.
      await extract({ file: path, cwd: dir, strict: true, preserveOwner: false, noChmod: true });
    } catch (e) {
      throw new ImageError(
        'IMPORT_INVALID',
        `${path} is not a readable tar archive: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return await importDirectory(dir, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
