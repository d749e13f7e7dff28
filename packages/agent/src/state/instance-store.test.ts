import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceStore, type InstanceRecord } from './instance-store.js';

const record = (id: string): InstanceRecord => ({
  instanceId: id,
  spec: { instanceId: id, image: 'x' },
  handle: { driver: 'mock', instanceId: id, version: 1, driverState: { pid: 42 } },
  network: null,
  savedAt: new Date(0).toISOString(),
});

describe('InstanceStore', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('swg-state-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('saves, loads after a "restart" and removes', async () => {
    await new InstanceStore(dir).save(record('a'));
    await new InstanceStore(dir).save(record('b'));
    const reopened = new InstanceStore(dir);
    expect(await reopened.load()).toEqual([record('a'), record('b')]);
    expect(await reopened.get('b')).toEqual(record('b'));
    await reopened.remove('a');
    await reopened.remove('a');
    expect((await reopened.load()).map((r) => r.instanceId)).toEqual(['b']);
    expect(await readdir(join(dir, 'instances'))).toEqual(['b.json']); // no temp files left
  });

  it('skips a torn file instead of failing the whole load', async () => {
    await writeFile(join(dir, 'instances', 'torn.json'), '{"instanceId": "to');
    expect((await new InstanceStore(dir).load()).map((r) => r.instanceId)).toEqual(['b']);
  });

  it('refuses ids that would escape the directory', async () => {
    await expect(new InstanceStore(dir).save(record('../x'))).rejects.toThrow(/invalid instance id/);
  });

  it('loads nothing from an empty state dir', async () => {
    const empty = await makeTempDir('swg-state-');
    try {
      expect(await new InstanceStore(empty).load()).toEqual([]);
    } finally {
      await removeDir(empty);
    }
  });
});
