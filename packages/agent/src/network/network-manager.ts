import { PaasError, macForInstance } from '@shellwego/core';
import { ensureBridge } from './bridge.js';
import { intToIp } from './cidr.js';
import { Ipam } from './ipam.js';
import { attach, detach, nsPathOf } from './instance-net.js';
import { CommandError, ip } from './exec.js';
import { findLink, listLinks, listNamespaces, removeLink, removeNamespace } from './links.js';
import { assertPrefix, instanceNames, isInstanceName } from './names.js';

export interface NetworkManagerOptions {
  /** Holds the lease file; one agent per state dir. */
  stateDir: string;
  bridgeName: string;
  cidr: string;
  /** Starts every interface and namespace name this manager creates; 1 to 6 characters. Default `sw`. */
  namePrefix?: string;
}

/**
 * How an instance is attached. `netns`: its own namespace and veth pair on the bridge (containers, microVMs).
 * `host`: its address is added to the bridge itself (as a /32) and the runtime listens on it in the host's namespace
 * (the wasm runtime: one host process serves every function, so there is no process to put in a namespace).
 */
export type NetworkMode = 'netns' | 'host';

export interface InstanceNetwork {
  /** Absent in records written before host mode existed: those are `netns`. */
  mode?: NetworkMode;
  nsPath: string;
  nsName: string;
  hostIf: string;
  ip: string;
  mac: string;
  gateway: string;
  prefix: number;
}

export interface Leftovers {
  interfaces: string[];
  namespaces: string[];
  /** Host-mode addresses on the bridge that belong to no lease. */
  addresses: string[];
}

/**
 * The node's instance network: one bridge, a lease per instance, a namespace and veth pair per instance. Names and
 * MACs derive from the instance id, so after an agent restart everything is found again from the lease file alone.
 * Calls for one instance must not overlap (the reconciler runs one action per instance at a time).
 */
export class NetworkManager {
  private constructor(
    private readonly ipam: Ipam,
    private readonly bridge: string,
    private readonly prefix: string,
    /** Instances attached in host mode, found again from the bridge's /32 addresses after a restart. */
    private readonly hostAttached: Map<string, string>,
  ) {}

  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const prefix = opts.namePrefix ?? 'sw';
    assertPrefix(prefix);
    const ipam = await Ipam.open({ stateDir: opts.stateDir, cidr: opts.cidr });
    await ensureBridge({ name: opts.bridgeName, cidr: opts.cidr });
    const onBridge = new Set(await hostAddresses(opts.bridgeName));
    const hostAttached = new Map(
      Object.entries(ipam.leases()).filter(([, address]) => onBridge.has(address)),
    );
    return new NetworkManager(ipam, opts.bridgeName, prefix, hostAttached);
  }

  /**
   * Leases an address and attaches the instance. Calling it again for an attached instance returns the same network;
   * when attaching fails, the lease is released and nothing is left behind.
   */
  async setup(
    instanceId: string,
    opts: { egressRateMbit?: number; mode?: NetworkMode } = {},
  ): Promise<InstanceNetwork> {
    if (opts.mode === 'host') return this.setupHost(instanceId);
    const mac = macForInstance(instanceId);
    this.assertMacFree(instanceId, mac);
    const wasLeased = this.ipam.lease(instanceId) !== undefined;
    const ip = await this.ipam.allocate(instanceId);
    const net = this.describe(instanceId, ip, mac);
    if ((await listNamespaces()).includes(net.nsName)) {
      // Leased and attached: a repeated call. Attached without a lease: debris of a crash, rebuilt from scratch.
      if (wasLeased) return net;
      await detach(net);
    }
    try {
      await attach({
        bridge: this.bridge,
        instanceId,
        ip,
        prefix: net.prefix,
        gateway: net.gateway,
        mac,
        nsName: net.nsName,
        hostIf: net.hostIf,
        ...opts,
      });
    } catch (e) {
      await this.ipam.release(instanceId);
      throw e;
    }
    return net;
  }

  /** Leases an address and adds it to the bridge, for a runtime that listens on it from the host's namespace. */
  private async setupHost(instanceId: string): Promise<InstanceNetwork> {
    const address = await this.ipam.allocate(instanceId);
    if (this.hostAttached.get(instanceId) !== address) {
      try {
        await ip('addr', 'replace', `${address}/32`, 'dev', this.bridge);
      } catch (e) {
        await this.ipam.release(instanceId);
        throw e;
      }
      this.hostAttached.set(instanceId, address);
    }
    return {
      ...this.describe(instanceId, address, macForInstance(instanceId)),
      mode: 'host',
      nsPath: '',
      nsName: '',
    };
  }

  /** Detaches the instance and releases its address; tearing down twice, or an unknown instance, is fine. */
  async teardown(instanceId: string): Promise<void> {
    const hostAddress = this.hostAttached.get(instanceId);
    if (hostAddress !== undefined) {
      await removeHostAddress(this.bridge, hostAddress);
      this.hostAttached.delete(instanceId);
    } else {
      await detach(instanceNames(this.prefix, instanceId));
    }
    await this.ipam.release(instanceId);
  }

  /** The network of a leased instance, e.g. to re-adopt a running container after an agent restart. */
  lookup(instanceId: string): InstanceNetwork | undefined {
    const ip = this.ipam.lease(instanceId);
    return ip === undefined ? undefined : this.describe(instanceId, ip, macForInstance(instanceId));
  }

  leases(): Record<string, string> {
    return this.ipam.leases();
  }

  /** Interfaces and namespaces with this manager's prefix that belong to no lease: debris of a crash. */
  async leftovers(): Promise<Leftovers> {
    const owned = new Set<string>();
    for (const id of Object.keys(this.ipam.leases())) {
      const names = instanceNames(this.prefix, id);
      owned.add(names.hostIf).add(names.nsName);
    }
    const stray = (name: string): boolean => isInstanceName(this.prefix, name) && !owned.has(name);
    const [links, namespaces, addresses] = await Promise.all([
      listLinks(),
      listNamespaces(),
      hostAddresses(this.bridge),
    ]);
    const leased = new Set(Object.values(this.ipam.leases()));
    return {
      interfaces: links.filter(stray),
      namespaces: namespaces.filter(stray),
      addresses: addresses.filter((a) => !leased.has(a)),
    };
  }

  /** Removes what `leftovers()` lists. */
  async removeLeftovers(): Promise<Leftovers> {
    const found = await this.leftovers();
    for (const name of found.namespaces) await removeNamespace(name);
    for (const name of found.interfaces) await removeLink(name);
    for (const address of found.addresses) await removeHostAddress(this.bridge, address);
    return found;
  }

  private describe(instanceId: string, ip: string, mac: string): InstanceNetwork {
    const names = instanceNames(this.prefix, instanceId);
    return {
      ...names,
      nsPath: nsPathOf(names.nsName),
      ip,
      mac,
      gateway: intToIp(this.ipam.subnet.gateway),
      prefix: this.ipam.subnet.prefix,
    };
  }

  /** Two instances with one MAC on a bridge would steal each other's frames; 24 bits make that rare, not impossible. */
  private assertMacFree(instanceId: string, mac: string): void {
    for (const other of Object.keys(this.ipam.leases())) {
      if (other !== instanceId && macForInstance(other) === mac) {
        throw new PaasError(
          'CONFLICT',
          `instance ${instanceId} would get MAC ${mac}, which instance ${other} on bridge ${this.bridge} already uses`,
          {
            hint: 'redeploy to get a new instance id',
          },
        );
      }
    }
  }
}

/** The /32 addresses on the bridge: host-mode instances' (the bridge's own address has the subnet's prefix). */
async function hostAddresses(bridge: string): Promise<string[]> {
  const link = await findLink(bridge);
  return (link?.addresses ?? []).filter((a) => a.prefixlen === 32).map((a) => a.local);
}

async function removeHostAddress(bridge: string, address: string): Promise<void> {
  try {
    await ip('addr', 'del', `${address}/32`, 'dev', bridge);
  } catch (e) {
    // Already gone (a reboot, or a teardown repeated after a crash) is what we wanted.
    if (!(e instanceof CommandError && /Cannot assign|does not exist/i.test(e.stderr))) throw e;
  }
}
