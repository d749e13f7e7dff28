import { macForInstance } from '@shellwego/core';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip } from './exec.js';
import { listNamespaces } from './links.js';
import { NetworkManager } from './network-manager.js';
import { instanceNames } from './names.js';
import {
  freeSubnet,
  isRoot,
  ownedBy,
  readFromHost,
  readFromNamespace,
  registerExitCleanup,
  removeOwned,
  serveInNamespace,
  uniquePrefix,
} from './test-net.js';

describe.skipIf(!isRoot)('NetworkManager (needs root)', () => {
  let prefix: string;
  let cidr: string;
  let stateDir: string;
  let bridgeName: string;
  let unregister: () => void = () => undefined;
  const open = () => NetworkManager.open({ stateDir, bridgeName, cidr, namePrefix: prefix });

  beforeAll(async () => {
    prefix = await uniquePrefix();
    unregister = registerExitCleanup(prefix);
    cidr = await freeSubnet();
    bridgeName = `${prefix}br`;
    stateDir = await makeTempDir('netmgr-');
  });
  afterAll(async () => {
    await removeOwned(prefix);
    await removeDir(stateDir);
    unregister();
    expect(await ownedBy(prefix)).toEqual({ links: [], namespaces: [] });
  });

  it('connects two instances on one bridge to each other and to the host', async () => {
    const net = await open();
    const a = await net.setup('inst-a');
    const b = await net.setup('inst-b');
    expect(a).toMatchObject({ nsPath: `/var/run/netns/${a.nsName}`, mac: macForInstance('inst-a') });
    expect(a.ip).not.toBe(b.ip);
    expect(a.hostIf.length).toBeLessThanOrEqual(15);
    const server = await serveInNamespace(b.nsName, b.ip, 8080);
    try {
      expect(await readFromNamespace(a.nsName, b.ip, 8080)).toBe(`hello from ${b.ip}`);
      expect(await readFromHost(bridgeName, b.ip, 8080)).toBe(`hello from ${b.ip}`);
    } finally {
      server.close();
    }
    expect(await net.setup('inst-a')).toEqual(a); // a repeated setup returns the same network
  });

  it('keeps leases across a restart and gives a new instance a fresh address', async () => {
    const before = (await open()).leases();
    const net = await open();
    expect(net.leases()).toEqual(before);
    const c = await net.setup('inst-c');
    expect(Object.values(before)).not.toContain(c.ip);
    expect(net.lookup('inst-a')?.ip).toBe(before['inst-a']);
  });

  it('applies an egress limit with tc', async () => {
    const net = await open();
    const d = await net.setup('inst-d', { egressRateMbit: 5 });
    expect(await ip('-n', d.nsName, 'link', 'show', 'dev', 'eth0')).toMatch(/qdisc tbf/);
    await net.teardown('inst-d');
  });

  it('tears down to nothing: no interface, namespace or lease, and twice is fine', async () => {
    const net = await open();
    for (const id of ['inst-a', 'inst-b', 'inst-c']) {
      await net.teardown(id);
      await net.teardown(id);
    }
    expect(net.leases()).toEqual({});
    expect((await open()).leases()).toEqual({});
    expect(await ownedBy(prefix)).toEqual({ links: [bridgeName], namespaces: [] });
  });

  it('leaves nothing, lease included, when attaching fails', async () => {
    const net = await open();
    const { hostIf } = instanceNames(prefix, 'inst-e');
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', `${prefix}pe`);
    try {
      await expect(net.setup('inst-e')).rejects.toThrow(
        /network attach of instance inst-e failed: ip link add/,
      );
      expect(net.leases()).toEqual({});
      expect(await listNamespaces()).not.toContain(instanceNames(prefix, 'inst-e').nsName);
    } finally {
      await ip('link', 'del', hostIf);
    }
  });

  it('lists and removes leftovers of a crash: names with its prefix and no lease', async () => {
    const net = await open();
    const kept = await net.setup('inst-f');
    const stray = instanceNames(prefix, 'crashed');
    await ip('netns', 'add', stray.nsName);
    await ip('link', 'add', stray.hostIf, 'type', 'veth', 'peer', 'name', `${prefix}pf`);
    await ip('addr', 'add', '10.254.254.254/32', 'dev', bridgeName);
    expect(await net.leftovers()).toEqual({
      interfaces: [stray.hostIf],
      namespaces: [stray.nsName],
      addresses: ['10.254.254.254'],
    });
    await net.removeLeftovers();
    expect(await net.leftovers()).toEqual({ interfaces: [], namespaces: [], addresses: [] });
    expect(await listNamespaces()).toContain(kept.nsName);
    await net.teardown('inst-f');
  });

  it('host mode: the address is added to the bridge for a listener on the host, found again after a restart', async () => {
    const net = await open();
    const w = await net.setup('inst-w', { mode: 'host' });
    expect(w).toMatchObject({ mode: 'host', nsPath: '' });
    const onBridge = async (): Promise<string> => ip('-j', 'addr', 'show', 'dev', bridgeName);
    expect(await onBridge()).toContain(`"local":"${w.ip}","prefixlen":32`);
    // Reachable on the host: a server bound to the instance's own address answers from the bridge's address.
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end('wasm here'));
    await new Promise<void>((r) => server.listen(8080, w.ip, r));
    try {
      const res = await fetch(`http://${w.ip}:8080/`);
      expect(await res.text()).toBe('wasm here');
    } finally {
      server.close();
    }
    const again = await open();
    expect((await again.leftovers()).addresses).toEqual([]);
    await again.teardown('inst-w');
    expect(await onBridge()).not.toContain(`"local":"${w.ip}"`);
    expect(again.leases()['inst-w']).toBeUndefined();
  });

  it('refuses an instance whose MAC another lease on the bridge already uses', async () => {
    const byMac = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const id = `mac-${i}`;
      const other = byMac.get(macForInstance(id));
      if (other !== undefined) pair = [other, id];
      byMac.set(macForInstance(id), id);
    }
    const net = await open();
    await net.setup(pair[0]);
    await expect(net.setup(pair[1])).rejects.toThrow(
      /would get MAC .* which instance mac-\d+ on bridge .* already uses/,
    );
    expect(Object.keys(net.leases())).toEqual([pair[0]]);
    await net.teardown(pair[0]);
  });
});
