import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { route, table, tempStateDir } from '../test-edge.js';
import { Cleanup } from '../test-upstream.js';
import { RouteStore } from './route-store.js';
import { Upstream } from './upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const poolOptions = {
  connectTimeoutMs: 100,
  headersTimeoutMs: 100,
  idleTimeoutMs: 100,
  keepAliveTimeoutMs: 100,
};

async function newStore(stateDir?: string, retireDelayMs = 0): Promise<RouteStore> {
  const store = new RouteStore({
    retireDelayMs,
    stateDir: stateDir ?? (await tempStateDir(cleanup)),
    logger: pino({ level: 'silent' }),
    createUpstream: (address) => new Upstream(address, poolOptions),
  });
  cleanup.add(() => store.close());
  return store;
}

const a = { id: 'a', address: '127.0.0.1:9001' };
const b = { id: 'b', address: '127.0.0.1:9002' };
const c = { id: 'c', address: '127.0.0.1:9003' };

describe('RouteStore', () => {
  it('looks hosts up case-insensitively, ignoring the port and a trailing dot', async () => {
    const store = await newStore();
    await store.swap(table(1, route('App.Example.com', [a])));
    for (const host of [
      'app.example.com',
      'APP.example.COM:8443',
      'app.example.com.',
      'app.example.com.:80',
    ]) {
      expect(store.lookup(host)?.appName).toBe('App');
    }
    expect(store.lookup('other.example.com')).toBeUndefined();
    expect(store.lookup(undefined)).toBeUndefined();
  });

  it('swaps atomically: a route resolved before a swap keeps its upstreams, new lookups see the new table', async () => {
    const store = await newStore();
    await store.swap(table(1, route('x.test', [a, b])));
    const before = store.lookup('x.test')!;
    await store.swap(table(2, route('x.test', [b, c])));
    const after = store.lookup('x.test')!;
    expect(before.targets.map((t) => t.id)).toEqual(['a', 'b']);
    expect(after.targets.map((t) => t.id)).toEqual(['b', 'c']);
    // The unchanged address keeps its upstream (pool, counters, health); the removed one is retired.
    expect(after.targets[0]!.upstream).toBe(before.targets[1]!.upstream);
    expect(before.targets[0]!.upstream.isRetired).toBe(true);
    expect(after.targets[0]!.upstream.isRetired).toBe(false);
    expect(store.revision).toBe(2);
  });

  it('keeps the pool of an address that comes back within the retire delay', async () => {
    const store = await newStore(undefined, 60_000);
    await store.swap(table(1, route('x.test', [a])));
    const first = store.lookup('x.test')!.targets[0]!.upstream;
    await store.swap(table(2, route('x.test', [b])));
    expect(first.isRetired).toBe(false); // old snapshots may still use it
    await store.swap(table(3, route('x.test', [a])));
    expect(store.lookup('x.test')!.targets[0]!.upstream).toBe(first);
  });

  it('persists the table (mode 0600, no temp files left) and loads it in a new store', async () => {
    const dir = await tempStateDir(cleanup);
    const first = await newStore(dir);
    await first.swap(table(7, route('x.test', [a], [3])));
    const file = join(dir, 'routes.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['routes.json']);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ revision: 7 });

    const second = await newStore(dir);
    expect(await second.load()).toBe(true);
    expect(second.revision).toBe(7);
    expect(second.lookup('x.test')?.targets[0]).toMatchObject({ id: 'a', weight: 3 });
  });

  it('writes the latest table after a burst of swaps', async () => {
    const dir = await tempStateDir(cleanup);
    const store = await newStore(dir);
    const writes = [1, 2, 3, 4, 5].map((revision) => store.swap(table(revision, route('x.test', [a]))));
    await Promise.all(writes);
    expect(JSON.parse(await readFile(join(dir, 'routes.json'), 'utf8'))).toMatchObject({ revision: 5 });
  });

  it('starts empty when there is no file or it is unreadable', async () => {
    const dir = await tempStateDir(cleanup);
    expect(await (await newStore(dir)).load()).toBe(false);
    await writeFile(join(dir, 'routes.json'), '{"revision": "nope"');
    const store = await newStore(dir);
    expect(await store.load()).toBe(false);
    expect(store.revision).toBe(0);
  });

  it('skips invalid upstream addresses and duplicate hostnames', async () => {
    const store = await newStore();
    await store.swap(table(1, route('x.test', [a, { id: 'bad', address: 'nope' }]), route('X.test', [b])));
    expect(store.lookup('x.test')?.targets.map((t) => t.id)).toEqual(['a']);
  });
});
