import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceWireSpec } from '@shellwego/core';
import type { ImageConfig, StoredImage } from '@shellwego/registry';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ArtifactCache } from './artifacts.js';
import { Resolver, type ImageSource } from './resolver.js';

const wire = (over: Partial<InstanceWireSpec> = {}): InstanceWireSpec => ({
  app_id: 'app_1',
  app_name: 'web',
  release_id: 'rel_1',
  release_version: 3,
  image: 'registry.example/web:1',
  runtime: 'container',
  env: { MODE: 'prod', PATH: '/app/bin:/bin' },
  secrets: { TOKEN: 't0ken' },
  secret_versions: { TOKEN: 2 },
  resources: { memory_bytes: 128 << 20, cpu_milli: 250 },
  port: 3000,
  health_check: { path: '/healthz', interval_ms: 1000, timeout_ms: 500 },
  ...over,
});

/** An image store holding one image tree; counts pulls, and has the image locally only once pulled. */
function images(rootfs: string, config: ImageConfig): ImageSource & { pulls: number } {
  const image: StoredImage = { digest: `sha256:${'b'.repeat(64)}`, size: 1, layers: 1, rootfs };
  let stored = false;
  return {
    pulls: 0,
    local: () => Promise.resolve(stored ? image : undefined),
    async pull(reference, options) {
      this.pulls++;
      const layer = { digest: 'sha256:l1', mediaType: 'layer', total: 3 << 20 };
      options?.onProgress?.({ ...layer, status: 'waiting', done: 0 });
      await new Promise((r) => setTimeout(r, 20));
      options?.onProgress?.({ ...layer, status: 'downloading', done: 1 << 20 });
      options?.onProgress?.({ ...layer, status: 'done', done: 3 << 20 });
      stored = true;
      return { ...image, reference, downloadedBytes: 1 };
    },
    imageConfig: () => Promise.resolve(config),
  };
}

describe('Resolver', () => {
  let dir: string;
  let rootfs: string;
  beforeAll(async () => {
    dir = await makeTempDir('swg-resolve-');
    rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n');
    await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1001:\n');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('merges the image config with the app env and PORT, resolves the user, sizes and places the instance', async () => {
    const store = images(rootfs, {
      config: { Entrypoint: ['/app/server'], Env: ['PATH=/bin', 'LANG=C'], User: 'app', WorkingDir: '/app' },
    });
    const resolver = new Resolver({ images: store, logDir: '/data/logs', runtimeDir: '/data/runtime' });
    const notified: string[] = [];
    const spec = await resolver.resolve('inst_1', wire({ app_name: 'x'.repeat(62) + '-y' }), {
      onPull: (ref) => notified.push(ref),
    });
    expect(spec).toEqual({
      instanceId: 'inst_1',
      appId: 'app_1',
      rootfs,
      process: {
        args: ['/app/server'],
        env: ['PATH=/app/bin:/bin', 'LANG=C', 'MODE=prod', 'PORT=3000'],
        cwd: '/app',
        user: { uid: 1000, gid: 1001 },
      },
      hostname: 'x'.repeat(62),
      resources: { memoryBytes: 128 << 20, cpuMilli: 250, pidsLimit: 1024 },
      secrets: { TOKEN: 't0ken' },
      volumes: [],
      logDir: '/data/logs',
      stateDir: '/data/runtime',
    });
    expect(notified).toEqual(['registry.example/web:1']);
  });

  it('pulls once for instances that wait on one image, and not at all once it is stored', async () => {
    const store = images(rootfs, { config: { Cmd: ['/bin/sh'] } });
    const resolver = new Resolver({ images: store, logDir: '/l', runtimeDir: '/r' });
    const heard = new Map<string, { done: number; total: number }>();
    await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        resolver.resolve(id, wire(), { onPullProgress: (_ref, p) => heard.set(id, p) }),
      ),
    );
    expect(store.pulls).toBe(1);
    // Every waiting instance hears the shared pull's bytes, the last report being the whole image.
    for (const id of ['a', 'b', 'c']) expect(heard.get(id)).toEqual({ done: 3 << 20, total: 3 << 20 });
    const notified: string[] = [];
    await resolver.resolve('d', wire(), { onPull: (ref) => notified.push(ref) });
    expect(store.pulls).toBe(1);
    expect(notified).toEqual([]);
  });

  it('a wasm instance runs its module, fetched once and verified, with the env and PORT and no filesystem', async () => {
    const module = Buffer.from('\0asm\x01\0\0\0', 'latin1');
    const digest = `sha256:${createHash('sha256').update(module).digest('hex')}`;
    let fetches = 0;
    const cache = new ArtifactCache(join(dir, 'artifacts'), async (d) => {
      fetches++;
      await new Promise((r) => setTimeout(r, 20));
      return d === digest ? module : Buffer.from('something else');
    });
    const store = images(rootfs, { config: {} });
    const resolver = new Resolver({ images: store, artifacts: cache, logDir: '/l', runtimeDir: '/r' });
    const w = wire({ runtime: 'wasm', image: digest });
    const [spec] = await Promise.all(['a', 'b'].map((id) => resolver.resolve(id, w)));
    expect(fetches).toBe(1);
    expect(store.pulls).toBe(0);
    expect(spec?.artifact?.digest).toBe(digest);
    expect(await readFile(spec?.artifact?.path ?? '')).toEqual(module);
    expect(spec?.process.env).toEqual(['MODE=prod', 'PATH=/app/bin:/bin', 'PORT=3000']);
    expect(spec?.secrets).toEqual({ TOKEN: 't0ken' });
    expect((await stat(spec?.rootfs ?? '')).mode & 0o777).toBe(0o555);
    await resolver.resolve('c', w);
    expect(fetches).toBe(1);
    // A module that does not match its digest is not kept.
    const other = `sha256:${'c'.repeat(64)}`;
    await expect(resolver.resolve('d', wire({ runtime: 'wasm', image: other }))).rejects.toThrow(
      /arrived with digest sha256:[0-9a-f]{64}; not kept/,
    );
    await expect(stat(join(dir, 'artifacts/sha256', `${'c'.repeat(64)}.wasm`))).rejects.toThrow();
  });
});
