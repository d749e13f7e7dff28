import { PaasError, macForInstance } from '@shellwego/core';
import { ensureBridge } from './bridge.js';
import { intToIp } from './cidr.js';
import { Ipam } from './ipam.js';
import { attach, detach, nsPathOf } from './instance-net.js';
import { listLinks, listNamespaces, removeLink, removeNamespace } from './links.js';
import { assertPrefix, instanceNames, isInstanceName } from './names.js';

export interface NetworkManagerOptions {
  /** Holds the lease file; one agent per state dir. */
  stateDir: string;
  bridgeName: string;
  cidr: string;
  /** Starts every interface and namespace name this manager creates; 1 to 6 characters. Default `sw`. */
  namePrefix?: string;
}

export interface InstanceNetwork {
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
  ) {}

  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const prefix = opts.namePrefix ?? 'sw';
    assertPrefix(prefix);
    const ipam = await Ipam.open({ stateDir: opts.stateDir, cidr: opts.cidr });
    await ensureBridge({ name: opts.bridgeName, cidr: opts.cidr });
    return new NetworkManager(ipam, opts.bridgeName, prefix);
  }

  /**
   * Leases an address and attaches the instance. Calling it again for an attached instance returns the same network;
   * when attaching fails, the lease is released and nothing is left behind.
   */
  async setup(instanceId: string, opts: { egressRateMbit?: number } = {}): Promise<InstanceNetwork> {
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

  /** Detaches the instance and releases its address; tearing down twice, or an unknown instance, is fine. */
  async teardown(instanceId: string): Promise<void> {
    await detach(instanceNames(this.prefix, instanceId));
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
    const [links, namespaces] = await Promise.all([listLinks(), listNamespaces()]);
    return { interfaces: links.filter(stray), namespaces: namespaces.filter(stray) };
  }

  /** Removes what `leftovers()` lists. */
  async removeLeftovers(): Promise<Leftovers> {
    const found = await this.leftovers();
    for (const name of found.namespaces) await removeNamespace(name);
    for (const name of found.interfaces) await removeLink(name);
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
