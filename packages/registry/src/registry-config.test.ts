import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { endpointsFor } from './client/config.js';
import { loadRegistryConfig, parseRegistryConfig, RegistryConfigError } from './registry-config.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('registry-config-');
});
afterEach(async () => {
  await removeDir(dir);
});

async function write(content: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'registries.json');
  await writeFile(path, content);
  return path;
}

describe('registries.json', () => {
  it('is optional: no file means the defaults', async () => {
    expect(await loadRegistryConfig(dir)).toEqual({});
  });

  it('gives the client its mirrors, credentials, insecure hosts and platform', async () => {
    await write(
      JSON.stringify({
        registries: {
          'docker.io': { mirrors: ['mirror.internal:5000'] },
          'mirror.internal:5000': { insecure: true, username: 'ops', password: 'pw' },
        },
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      }),
    );
    const config = await loadRegistryConfig(dir);
    expect(config.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    const [mirror, hub] = endpointsFor(config, 'docker.io');
    expect(mirror).toMatchObject({
      origin: 'http://mirror.internal:5000',
      mirror: true,
      credentials: { username: 'ops', password: 'pw' },
    });
    expect(hub).toMatchObject({ origin: 'https://registry-1.docker.io', mirror: false });
  });

  it('names the field and the file on bad content', async () => {
    const path = await write(JSON.stringify({ registries: { 'r.example': { insecure: 'yes' } } }));
    const error = await loadRegistryConfig(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryConfigError);
    expect((error as RegistryConfigError).code).toBe('REGISTRY_CONFIG_INVALID');
    expect((error as Error).message).toMatch(new RegExp(`^${path}: registries\\.r\\.example\\.insecure: `));
  });

  it('refuses misspelt keys rather than ignoring them', () => {
    expect(() => parseRegistryConfig({ registries: { h: { insecur: true } } }, 'cfg')).toThrow(
      /^cfg: registries\.h: .*insecur/,
    );
    expect(() => parseRegistryConfig({ platform: { os: 'linux' } }, 'cfg')).toThrow(
      /^cfg: platform\.architecture: /,
    );
  });

  it('says when the file is not JSON', async () => {
    await write('{ registries: ');
    await expect(loadRegistryConfig(dir)).rejects.toThrow(/registries\.json: not valid JSON/);
  });
});
