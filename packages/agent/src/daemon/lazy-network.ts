import type { InstanceNetworker } from '../executor/executor.js';
import type { InstanceNetwork, NetworkManager, NetworkMode } from '../network/network-manager.js';

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
