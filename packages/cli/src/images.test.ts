import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, runCli, startRegistry } from '@shellwego/testkit';
import type { RegistryServer } from '@shellwego/testkit';
// The registry package's test image builder (test-only, so not among its exports).
import { buildTestImage, ociLayoutTarball, pushTestImage } from '../../registry/src/test-images.js';
import type { TestImage } from '../../registry/src/test-images.js';

let registry: RegistryServer;
let dir: string;
let dataDir: string;

beforeAll(async () => {
  registry = await startRegistry();
  dir = await makeTempDir('swg-images-');
  dataDir = join(dir, 'data');
});
afterAll(async () => {
  await registry?.stop();
  if (dir) await removeDir(dir);
});

const images = (...args: string[]) => runCli(['images', ...args, '--data-dir', dataDir]);
const base = { files: { 'bin/hello': '#!/bin/sh\necho hello\n', 'etc/os-release': 'ID=test\n' } };

const seed = (repo: string, image: TestImage): Promise<string> => pushTestImage(registry.host, repo, image);

const ociTarball = (image: TestImage, name: string): Promise<string> => ociLayoutTarball(image, name, dir);

describe('shellwego images', () => {
  let pulled: { ref: string; image: TestImage };

  it('pulls an image from a registry, printing one summary line', async () => {
    const image = await buildTestImage({
      layers: [base, { files: { 'app/a.bin': randomBytes(300_000) } }, { files: { 'app/b': 'b\n' } }],
    });
    const ref = await seed('cli/app:1', image);
    pulled = { ref, image };
    const result = await images('pull', ref);
    expect(result.stderr).toBe('');
    const hex = image.manifestDigest.slice(7, 19);
    expect(result.stdout).toMatch(
      new RegExp(`^pulled ${ref} \\(sha256:${hex}…, (29\\d\\.\\d KiB), 3 layers, \\1 downloaded\\)\\n$`),
    );
    expect(result.code).toBe(0);
    expect(await readdir(join(dataDir, 'images', 'rootfs'))).toEqual([image.manifestDigest.slice(7)]);
  });

  it('downloads nothing when pulling again', async () => {
    const result = await images('pull', pulled.ref);
    expect(result.stdout).toMatch(/, 3 layers, 0 B downloaded\)\n$/);
    expect(result.code).toBe(0);
  });

  it('lists images as a table and as JSON', async () => {
    const table = await images('ls');
    expect(table.code).toBe(0);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REFERENCE\s+DIGEST\s+SIZE\s+CREATED$/);
    expect(row).toContain(pulled.ref);
    expect(rest).toEqual([]);

    const json = await images('ls', '--json');
    const size =
      pulled.image.configBlob.bytes.byteLength + pulled.image.layers.reduce((n, l) => n + l.size, 0);
    expect(JSON.parse(json.stdout)).toEqual([
      { reference: pulled.ref, digest: pulled.image.manifestDigest, size },
    ]);
  });

  it('imports an OCI layout tarball', async () => {
    const image = await buildTestImage({ layers: [base, { files: { 'srv/x': 'x\n' } }] });
    const result = await images('import', await ociTarball(image, 'localhost/imported:2'));
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^imported localhost\/imported:2 \(sha256:[0-9a-f]{12}…, [\d.]+ (?:B|KiB), 2 layers\)\n$/,
    );
    const listed = JSON.parse((await images('ls', '--json')).stdout) as { reference: string }[];
    expect(listed.map((i) => i.reference)).toEqual([pulled.ref, 'localhost/imported:2']);
  });

  it('frees space with rm then prune', async () => {
    const rm = await images('rm', pulled.ref);
    expect(rm).toMatchObject({ code: 0, stdout: `removed ${pulled.ref}\n` });
    // The base layer stays: the imported image shares it.
    const pruned = await runCli(['images', 'prune', '--grace', '0', '--data-dir', dataDir]);
    expect(pruned.stdout).toMatch(/^pruned 4 blobs and 1 unpacked images, 5\d\d\.\d KiB freed\n$/);
    expect(pruned.code).toBe(0);
    expect((await images('ls')).stdout).not.toContain(pulled.ref);
  });

  it('says in one line that an image is unknown', async () => {
    const result = await images('pull', `${registry.host}/cli/nope:1`);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: .*nope:1 was not found.*\(MANIFEST_UNKNOWN\)\n$/);
    expect(result.code).toBe(1);

    const rm = await images('rm', 'never/pulled');
    expect(rm.stderr).toMatch(/^error: never\/pulled is not in the image store .*\(REF_NOT_FOUND\)\n$/);
    expect(rm.code).toBe(1);
  });

  it('names the problem with an invalid reference', async () => {
    const result = await images('pull', 'Not/Valid');
    expect(result.stderr).toMatch(
      /^error: Invalid image reference "Not\/Valid": .*lowercase.*\(INVALID_REFERENCE\)\n$/,
    );
    expect(result.code).toBe(1);
  });
});
