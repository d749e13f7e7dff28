import { schemas } from '@shellwego/core';
import type { InstanceStats } from '@shellwego/driver-sdk';
import type { DriverSet } from '../executor/driver-set.js';
import type { ActualInstance } from '../reconciler/plan.js';
import { InstanceStore } from '../state/instance-store.js';

/** The driver's stats of a recorded instance, through the handle the executor saved for it. */
export function statsFromRecords(
  dataDir: string,
  drivers: Pick<DriverSet, 'forHandle'>,
): (instanceId: string) => Promise<InstanceStats> {
  const records = new InstanceStore(dataDir);
  return async (id) => {
    const handle = (await records.get(id))?.handle;
    if (handle === undefined) throw new Error(`no record of instance ${id}`);
    return drivers.forHandle(handle).stats(handle);
  };
}

const storedApp = schemas.instanceWireSpec.pick({ app_id: true });

/** Running instances with their app: from the desired state, else the stored spec (one being stopped); '' if neither. */
export function runningApps(
  actual: readonly ActualInstance[],
  appOf: ReadonlyMap<string, string>,
): Map<string, string> {
  const running = new Map<string, string>();
  for (const a of actual) {
    if (a.state !== 'running') continue;
    const stored = storedApp.safeParse(a.spec);
    running.set(a.instanceId, appOf.get(a.instanceId) ?? (stored.success ? stored.data.app_id : ''));
  }
  return running;
}
