import { macForInstance } from '@shellwego/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBridge } from './bridge.js';
import { ip, run } from './exec.js';
import { attach, detach } from './instance-net.js';
import { findLink, listNamespaces } from './links.js';
import { freeSubnet, isRoot, ownedBy, registerExitCleanup, removeOwned, uniquePrefix } from './test-net.js';

describe.skipIf(!isRoot)('attach and detach (needs root)', () => {
  let prefix: string;
  let bridge: string;
  let base: string; // "10.213.N."
  let unregister: () => void = () => undefined;

  beforeAll(async () => {
    prefix = await uniquePrefix();
    unregister = registerExitCleanup(prefix);
    const cidr = await freeSubnet();
    base = cidr.replace('0/24', '');
    bridge = `${prefix}br`;
    await ensureBridge({ name: bridge, cidr });
  });
  afterAll(async () => {
    await removeOwned(prefix);
    unregister();
    expect(await ownedBy(prefix)).toEqual({ links: [], namespaces: [] });
  });

  const spec = (n: number, extra: { egressRateMbit?: number } = {}) => ({
    bridge,
    instanceId: `inst-${n}`,
    ip: `${base}${n}`,
    prefix: 24,
    gateway: `${base}1`,
    mac: macForInstance(`inst-${n}`),
    nsName: `${prefix}n${n}`,
    hostIf: `${prefix}h${n}`,
    ...extra,
  });

  it('gives the namespace eth0 with the MAC, address and default route, the host side on the bridge', async () => {
    const s = spec(2);
    expect(await attach(s)).toEqual({ nsPath: `/var/run/netns/${s.nsName}`, ip: s.ip });
    const [eth0] = JSON.parse(await ip('-n', s.nsName, '-j', 'addr', 'show', 'dev', 'eth0')) as {
      address: string;
      flags: string[];
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    expect(eth0?.address).toBe(s.mac);
    expect(eth0?.flags).toContain('UP');
    expect(eth0?.addr_info).toContainEqual(
      expect.objectContaining({ family: 'inet', local: s.ip, prefixlen: 24 }),
    );
    expect(await ip('-n', s.nsName, 'route', 'show', 'default')).toMatch(`default via ${base}1 dev eth0`);
    expect(await ip('-n', s.nsName, '-br', 'link', 'show', 'dev', 'lo')).toMatch(/UNKNOWN|UP/);
    expect((await findLink(s.hostIf))?.master).toBe(bridge);

    await detach(s);
    await detach(s);
    expect(await findLink(s.hostIf)).toBeUndefined();
    expect(await listNamespaces()).not.toContain(s.nsName);
  });

  it('puts a token bucket on the instance side when an egress rate is given', async () => {
    const s = spec(3, { egressRateMbit: 10 });
    await attach(s);
    try {
      const qdiscs = JSON.parse(await run('tc', ['-n', s.nsName, '-j', 'qdisc', 'show', 'dev', 'eth0'])) as {
        kind: string;
        root?: boolean;
      }[];
      expect(qdiscs).toContainEqual(expect.objectContaining({ kind: 'tbf', root: true }));
    } finally {
      await detach(s);
    }
  });

  it('fails on a namespace name that is taken, and leaves the existing namespace alone', async () => {
    const s = spec(4);
    await ip('netns', 'add', s.nsName);
    await expect(attach(s)).rejects.toThrow(
      /network attach of instance inst-4 failed: ip netns add .* failed: /,
    );
    expect(await listNamespaces()).toContain(s.nsName);
    expect(await findLink(s.hostIf)).toBeUndefined();
    await ip('netns', 'del', s.nsName);
  });

  it('undoes its namespace when a later step fails, and leaves a device it did not create alone', async () => {
    const s = spec(5);
    await ip('link', 'add', s.hostIf, 'type', 'veth', 'peer', 'name', `${prefix}p5`);
    await expect(attach(s)).rejects.toThrow(/ip link add .*h5 type veth .* failed: .*File exists/);
    expect(await listNamespaces()).not.toContain(s.nsName);
    expect((await findLink(s.hostIf))?.kind).toBe('veth');
    await ip('link', 'del', s.hostIf);
  });

  it('undoes everything when the address step fails', async () => {
    const s = { ...spec(6), ip: 'not-an-ip' };
    await expect(attach(s)).rejects.toThrow(/ip -n .*addr add not-an-ip\/24 dev eth0.* failed/);
    expect(await listNamespaces()).not.toContain(s.nsName);
    expect(await findLink(s.hostIf)).toBeUndefined();
  });
});
