import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBridge, removeBridge } from './bridge.js';
import { ip } from './exec.js';
import { findLink } from './links.js';
import { freeSubnet, isRoot, ownedBy, registerExitCleanup, removeOwned, uniquePrefix } from './test-net.js';

describe.skipIf(!isRoot)('bridge (needs root)', () => {
  let prefix: string;
  let cidr: string;
  let unregister: () => void = () => undefined;

  beforeAll(async () => {
    prefix = await uniquePrefix();
    cidr = await freeSubnet();
    unregister = registerExitCleanup(prefix);
  });
  afterAll(async () => {
    await removeOwned(prefix);
    unregister();
    expect(await ownedBy(prefix)).toEqual({ links: [], namespaces: [] });
  });

  it('creates the bridge with the gateway address, up, and is idempotent', async () => {
    const name = `${prefix}br`;
    await ensureBridge({ name, cidr });
    await ensureBridge({ name, cidr });
    const link = await findLink(name);
    expect(link?.kind).toBe('bridge');
    expect(link?.addresses).toEqual([
      expect.objectContaining({ local: cidr.replace('.0/24', '.1'), prefixlen: 24 }),
    ]);
    const [shown] = JSON.parse(await ip('-j', 'link', 'show', 'dev', name)) as { flags: string[] }[];
    expect(shown?.flags).toContain('UP');
    await removeBridge(name);
    await removeBridge(name);
    expect(await findLink(name)).toBeUndefined();
  });

  it('refuses a subnet that overlaps a route on another device, creating nothing', async () => {
    const first = `${prefix}b1`;
    await ensureBridge({ name: first, cidr });
    try {
      await expect(ensureBridge({ name: `${prefix}b2`, cidr })).rejects.toThrow(/overlaps route .* on .*b1/);
      expect(await findLink(`${prefix}b2`)).toBeUndefined();
    } finally {
      await removeBridge(first);
    }
  });

  it('refuses a name taken by a device that is not a bridge, leaving that device alone', async () => {
    const name = `${prefix}dm`;
    await ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${prefix}dp`);
    try {
      await expect(ensureBridge({ name, cidr })).rejects.toThrow(/exists and is not a bridge \(veth\)/);
      expect(await findLink(name)).toMatchObject({ kind: 'veth', addresses: [] });
    } finally {
      await removeBridge(name);
    }
  });
});
