import type { InstanceNetworker } from '../executor/executor.js';
import { parseCidr } from '../network/cidr.js';
import { NetworkManager, type InstanceNetwork, type NetworkMode } from '../network/network-manager.js';
import { ensureNeighbourRoom } from '../network/neighbour-table.js';
import type { AgentConfig } from './config.js';
import type { AgentLogger } from './logger.js';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The node's instance network (bridge, leases), with room in the kernel's ARP cache for every address of its subnet.
 * A cache that cannot be raised (no write access to /proc/sys) is a warning: small nodes never need it.
 */
export async function openNodeNetwork(config: AgentConfig, logger: AgentLogger): Promise<NetworkManager> {
  const manager = await NetworkManager.open({
    stateDir: config.dataDir,
    bridgeName: config.bridgeName,
    cidr: config.cidr,
    namePrefix: config.networkPrefix,
  });
  const subnet = parseCidr(config.cidr);
  try {
    const raised = await ensureNeighbourRoom(subnet.last - subnet.gateway);
    if (raised !== undefined) logger.info(raised, 'raised the ARP cache limits to fit the instance subnet');
  } catch (e) {
    logger.warn({ err: errText(e) }, 'could not raise the ARP cache limits; nodes with ~500 instances stall');
  }
  return manager;
}

/**
 * Opens the node network (bridge, lease file) on first use: a node with nothing to run changes nothing on its host,
 * and a broken bridge setup shows up as a failed instance start, reported to the control plane, not as a dead agent.
 */
export class LazyNetwork implements InstanceNetworker {
  private opening: Promise<NetworkManager> | undefined;
  private opened: NetworkManager | undefined;

  constructor(private readonly open: () => Promise<NetworkManager>) {}

  private async manager(): Promise<NetworkManager> {
    this.opening ??= this.open().then(
      (m) => (this.opened = m),
      (e: unknown) => {
        // Try again on the next use rather than remember a transient failure forever.
        this.opening = undefined;
        throw e;
      },
    );
    return this.opening;
  }

  async setup(
    instanceId: string,
    opts?: { egressRateMbit?: number; mode?: NetworkMode },
  ): Promise<InstanceNetwork> {
    return (await this.manager()).setup(instanceId, opts);
  }

  async teardown(instanceId: string): Promise<void> {
    return (await this.manager()).teardown(instanceId);
  }

  lookup(instanceId: string): InstanceNetwork | undefined {
    return this.opened?.lookup(instanceId);
  }
}
