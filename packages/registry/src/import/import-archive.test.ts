import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { create } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveProcess, resolveUser, type ImageConfig } from '../image-config.js';
import type { ImageError } from '../unpack/image-error.js';
import { sha256, tarball } from '../unpack/test-tar.js';
import { unpackImage } from '../unpack/unpack-image.js';
import { importArchive } from './import-archive.js';
import { DirBlobSink } from './store-port.js';

const run = promisify(execFile);
const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/nonexistent' };

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('import-');
});
afterEach(async () => {
  await removeDir(dir);
});

interface Manifest {
  config: { digest: string };
  layers: { mediaType: string; digest: string }[];
}

/** Reads an imported image back from the sink and unpacks it as a runtime would. */
async function unpackFromSink(
  sink: DirBlobSink,
  manifestDigest: string,
): Promise<{ rootfs: string; config: ImageConfig; manifest: Manifest }> {
  const manifest = JSON.parse(await readFile(sink.blobPath(manifestDigest), 'utf8')) as Manifest;
  const config = JSON.parse(await readFile(sink.blobPath(manifest.config.digest), 'utf8')) as ImageConfig & {
    rootfs: { diff_ids: string[] };
  };
  const { path } = await unpackImage({
    layers: manifest.layers,
    diffIds: config.rootfs.diff_ids,
    storeRoot: sink.root,
    imageDigest: manifestDigest,
  });
  return { rootfs: path, config, manifest };
}

/**
 * A busybox image in an OCI layout, built with umoci (TESTING.md §2) in three layers: the rootfs,
 * a layer deleting etc/secret (a whiteout) and one replacing data/ (whiteout of the lower dir).
 * Layers come from `umoci repack`: Debian's umoci 0.4.7 `insert` writes truncated tars.
 */
async function buildBusyboxLayout(): Promise<string> {
  const layout = join(dir, 'oci');
  const bundle = join(dir, 'bundle');
  const umoci = (...args: string[]): Promise<unknown> => run('umoci', args, { env, cwd: dir });
  await umoci('init', '--layout', layout);
  await umoci('new', '--image', `${layout}:latest`);
  await umoci('unpack', '--image', `${layout}:latest`, bundle);
  const rootfs = join(bundle, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'etc'));
  await mkdir(join(rootfs, 'data/keep'), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
  const { stdout } = await run('/bin/busybox', ['--list'], { env });
  for (const applet of stdout.split('\n').filter((a) => a !== '' && a !== 'busybox'))
    await symlink('busybox', join(rootfs, 'bin', applet));
  await writeFile(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
  );
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nwheel:x:10:app\n');
  await writeFile(join(rootfs, 'etc/secret'), 'remove me');
  await writeFile(join(rootfs, 'data/old'), 'lower');
  await writeFile(join(rootfs, 'data/keep/x'), 'lower');
  await umoci('repack', '--refresh-bundle', '--image', `${layout}:latest`, bundle);
  await rm(join(rootfs, 'etc/secret'));
  await umoci('repack', '--refresh-bundle', '--image', `${layout}:latest`, bundle);
  await rm(join(rootfs, 'data'), { recursive: true });
  await mkdir(join(rootfs, 'data'));
  await writeFile(join(rootfs, 'data/new'), 'upper');
  await umoci('repack', '--refresh-bundle', '--image', `${layout}:latest`, bundle);
  await umoci(
    'config',
    '--image',
    `${layout}:latest`,
    '--config.cmd',
    '/bin/busybox',
    '--config.cmd',
    'echo',
    '--config.cmd',
    'ok',
    '--config.user',
    'app',
    '--config.exposedports',
    '8080/tcp',
    '--config.env',
    'GREETING=hi',
    '--architecture',
    'amd64',
    '--os',
    'linux',
  );
  return layout;
}

describe('importArchive: OCI layout from umoci, end to end', () => {
  it('imports, unpacks and runs a multi-layer busybox image with whiteouts from umoci', async () => {
    const layout = await buildBusyboxLayout();
    const sink = new DirBlobSink(join(dir, 'store'));
    const images = await importArchive(layout, { store: sink, name: 'test/busybox' });
    expect(images).toHaveLength(1);
    const digest = images[0]?.digest ?? '';
    expect(images[0]?.ref).toBe('test/busybox:latest');
    expect(sink.refs.get('test/busybox:latest')).toBe(digest);

    const { rootfs, config, manifest } = await unpackFromSink(sink, digest);
    expect(manifest.layers).toHaveLength(3);
    const { stdout } = await run(join(rootfs, 'bin/busybox'), ['echo', 'ok'], { env });
    expect(stdout).toBe('ok\n');
    await expect(lstat(join(rootfs, 'etc/secret'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(rootfs, 'data'))).toEqual(['new']);

    const proc = resolveProcess(config, { env: { GREETING: 'hello' } });
    expect(proc.args).toEqual(['/bin/busybox', 'echo', 'ok']);
    expect(proc.env).toContain('GREETING=hello');
    expect(proc.exposedPorts).toEqual([8080]);
    expect(proc.user).toEqual({ name: 'app' });
    expect(await resolveUser(rootfs, 'app')).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });

    // The same layout as a tarball: nothing new to store, same digest.
    const tarPath = join(dir, 'oci.tar');
    await create({ file: tarPath, cwd: layout }, ['.']);
    const again = await importArchive(tarPath, { store: sink, name: 'test/busybox' });
    expect(again[0]?.digest).toBe(digest);
  });

  it('refuses a layout whose blob does not match its digest', async () => {
    const layout = await buildBusyboxLayout();
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifestPath = join(layout, 'blobs/sha256', (index.manifests[0]?.digest ?? '').slice(7));
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    await writeFile(join(layout, 'blobs/sha256', (manifest.layers[1]?.digest ?? '').slice(7)), 'tampered');
    const sink = new DirBlobSink(join(dir, 'store'));
    const err = await importArchive(layout, { store: sink }).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe('IMPORT_INVALID');
    expect(sink.refs.size).toBe(0);
  });
});

/** A pre-OCI `docker save` tarball: manifest.json, <hex>.json config, <id>/layer.tar. */
async function buildDockerSave(opts: { badDiffId?: boolean; layerPath?: string } = {}): Promise<string> {
  const src = join(dir, 'save');
  const layers = [
    tarball([
      { name: 'bin/', type: 'dir' },
      { name: 'bin/hello', data: 'v1', mode: 0o755 },
      { name: 'etc/old', data: 'x' },
    ]),
    tarball([{ name: 'bin/hello', data: 'v2', mode: 0o755 }, { name: 'etc/.wh.old' }]),
  ];
  const ids = ['a'.repeat(64), 'b'.repeat(64)];
  for (const [i, layer] of layers.entries()) {
    await mkdir(join(src, ids[i] ?? ''), { recursive: true });
    await writeFile(join(src, ids[i] ?? '', 'layer.tar'), layer);
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/hello'], Env: ['PATH=/bin'], WorkingDir: '/srv' },
      rootfs: {
        type: 'layers',
        diff_ids: layers.map((l) => (opts.badDiffId ? sha256(Buffer.from('x')) : sha256(l))),
      },
    }),
  );
  const configName = `${sha256(config).slice(7)}.json`;
  await writeFile(join(src, configName), config);
  const layerPaths = ids.map((id) => `${id}/layer.tar`);
  if (opts.layerPath !== undefined) layerPaths[0] = opts.layerPath;
  await writeFile(
    join(src, 'manifest.json'),
    JSON.stringify([{ Config: configName, RepoTags: ['example/app:1.0'], Layers: layerPaths }]),
  );
  const file = join(dir, 'save.tar');
  await create({ file, cwd: src }, await readdir(src));
  return file;
}

describe('importArchive: docker save', () => {
  it('imports a docker save tarball as an OCI image that unpacks', async () => {
    const sink = new DirBlobSink(join(dir, 'store'));
    const images = await importArchive(await buildDockerSave(), { store: sink });
    expect(images).toEqual([
      {
        digest: expect.stringMatching(/^sha256:/) as unknown,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ref: 'example/app:1.0',
      },
    ]);
    const digest = images[0]?.digest ?? '';
    expect(sink.refs.get('example/app:1.0')).toBe(digest);
    const { rootfs, config, manifest } = await unpackFromSink(sink, digest);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar',
      'application/vnd.oci.image.layer.v1.tar',
    ]);
    expect(await readFile(join(rootfs, 'bin/hello'), 'utf8')).toBe('v2');
    await expect(lstat(join(rootfs, 'etc/old'))).rejects.toThrow(/ENOENT/);
    expect(resolveProcess(config)).toMatchObject({ args: ['/bin/hello'], cwd: '/srv', env: ['PATH=/bin'] });
  });

  it('refuses layers that do not match the config diff_ids', async () => {
    const sink = new DirBlobSink(join(dir, 'store'));
    const err = await importArchive(await buildDockerSave({ badDiffId: true }), { store: sink }).catch(
      (e: unknown) => e,
    );
    expect((err as ImageError).code).toBe('IMPORT_INVALID');
    expect((err as ImageError).message).toMatch(/diff_id/);
    expect(sink.refs.size).toBe(0);
  });

  it('refuses a manifest.json naming a file outside the archive', async () => {
    const sink = new DirBlobSink(join(dir, 'store'));
    const err = await importArchive(await buildDockerSave({ layerPath: '../../etc/passwd' }), {
      store: sink,
    }).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe('IMPORT_INVALID');
    expect((err as ImageError).entry).toBe('../../etc/passwd');
  });
});
