import { PaasError } from '@shellwego/core';
import type { InstanceHandle, RuntimeDriver } from '@shellwego/driver-sdk';

/** The drivers of a node by the product runtime they serve: `container` (runc), `microvm`, `wasm`. */
export type RuntimeDrivers = Readonly<Record<string, RuntimeDriver>>;

/**
 * Picks the driver for a new instance by its runtime, and for a running one by the driver named in its handle (so an
 * instance keeps its driver even if the node's runtime table changes between agent restarts).
 */
export class DriverSet {
  private readonly byRuntime: ReadonlyMap<string, RuntimeDriver>;
  private readonly byName: ReadonlyMap<string, RuntimeDriver>;

  constructor(drivers: RuntimeDrivers) {
    this.byRuntime = new Map(Object.entries(drivers));
    this.byName = new Map(Object.values(drivers).map((d) => [d.name, d]));
    if (this.byRuntime.size === 0) throw new Error('an agent needs at least one runtime driver');
  }

  runtimes(): string[] {
    return [...this.byRuntime.keys()];
  }

  all(): RuntimeDriver[] {
    return [...new Set(this.byRuntime.values())];
  }

  forRuntime(runtime: string): RuntimeDriver {
    const driver = this.byRuntime.get(runtime);
    if (driver === undefined)
      throw new PaasError(
        'VALIDATION_FAILED',
        `this node has no ${runtime} runtime (it runs ${this.runtimes().join(', ')})`,
      );
    return driver;
  }

  forHandle(handle: InstanceHandle): RuntimeDriver {
    const driver = this.byName.get(handle.driver);
    if (driver === undefined)
      throw new PaasError(
        'INTERNAL',
        `instance ${handle.instanceId} was started by driver ${handle.driver}, which this agent does not have`,
      );
    return driver;
  }
}

/** Whether the driver listens on its address from the host's namespace instead of joining a namespace of its own. */
export function usesHostNetwork(driver: RuntimeDriver): boolean {
  const modes = driver.capabilities.networkModes;
  return !modes.includes('netns') && modes.includes('host');
}
