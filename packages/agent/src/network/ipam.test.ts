import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { Ipam } from './ipam.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('ipam-');
});
afterEach(async () => {
  await removeDir(dir);
});

describe('Ipam', () => {
  it('hands out .2 onwards, leaving .1 to the gateway', async () => {
    const ipam = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/24' });
    expect(ipam.gateway).toBe('10.213.7.1');
    expect(await ipam.allocate('a')).toBe('10.213.7.2');
    expect(await ipam.allocate('b')).toBe('10.213.7.3');
    expect(ipam.leases()).toEqual({ a: '10.213.7.2', b: '10.213.7.3' });
  });

  it('is idempotent for the same instance', async () => {
    const ipam = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/24' });
    const first = await ipam.allocate('a');
    expect(await ipam.allocate('a')).toBe(first);
    expect(Object.keys(ipam.leases())).toHaveLength(1);
  });

  it('never gives one address to two instances under concurrent allocation', async () => {
    const ipam = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/26' });
    const ids = Array.from({ length: 61 }, (_, i) => `inst-${i}`);
    const ips = await Promise.all([...ids, ...ids].map((id) => ipam.allocate(id)));
    expect(new Set(ips).size).toBe(61);
    expect(new Set(Object.values(ipam.leases())).size).toBe(61);
  });

  it('keeps leases across a restart and allocates a fresh address after them', async () => {
    const before = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/24' });
    await before.allocate('a');
    await before.allocate('b');
    const after = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/24' });
    expect(after.leases()).toEqual(before.leases());
    expect(await after.allocate('c')).toBe('10.213.7.4');
  });

  it('does not hand a just-released address out again at once', async () => {
    const ipam = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/24' });
    const a = await ipam.allocate('a');
    await ipam.release('a');
    await ipam.release('a'); // releasing twice is harmless
    expect(await ipam.allocate('b')).not.toBe(a);
    expect(ipam.leases()).toEqual({ b: '10.213.7.3' });
  });

  it('reuses released addresses once the subnet wraps around, and says clearly when it is full', async () => {
    const ipam = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/29' }); // .2 to .6: five addresses
    for (const id of ['a', 'b', 'c', 'd', 'e']) await ipam.allocate(id);
    await expect(ipam.allocate('f')).rejects.toThrow(
      /subnet 10\.213\.7\.0\/29 is full: all 5 instance addresses/,
    );
    await ipam.release('b');
    expect(await ipam.allocate('f')).toBe('10.213.7.3');
  });

  it('persists as JSON and refuses a lease file for another subnet', async () => {
    const ipam = await Ipam.open({ stateDir: dir, cidr: '10.213.7.0/24' });
    await ipam.allocate('a');
    const saved = JSON.parse(await readFile(join(dir, 'leases.json'), 'utf8')) as { leases: unknown };
    expect(saved.leases).toEqual({ a: '10.213.7.2' });
    await expect(Ipam.open({ stateDir: dir, cidr: '10.213.8.0/24' })).rejects.toThrow(
      /is for subnet 10\.213\.7\.0\/24/,
    );
  });

  it('refuses a lease file that gives one address twice', async () => {
    const leases = { a: '10.213.7.2', b: '10.213.7.2' };
    await writeFile(
      join(dir, 'leases.json'),
      JSON.stringify({ cidr: '10.213.7.0/24', next: '10.213.7.3', leases }),
    );
    await expect(Ipam.open({ stateDir: dir, cidr: '10.213.7.0/24' })).rejects.toThrow(/corrupt/);
  });

  it('rejects malformed subnets', async () => {
    await expect(Ipam.open({ stateDir: dir, cidr: '10.213.7.5/24' })).rejects.toThrow(/host bits set/);
    await expect(Ipam.open({ stateDir: dir, cidr: '10.213.7.0/31' })).rejects.toThrow(/invalid subnet/);
  });
});
