import type { NodeSnapshot, PlacedInstance, PlacementRequest } from './types.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** A ready container node with 4 GiB, 4 cores and 100 GiB of disk, named after its id. */
export function node(id: string, overrides: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    id,
    name: id,
    zone: null,
    status: 'ready',
    runtimes: ['container'],
    capacity: { memoryBytes: 4 * GiB, cpuMilli: 4000, diskBytes: 100 * GiB },
    images: [],
    ...overrides,
  };
}

/** One replica of `app` wanting 256 MiB, 250m CPU and 1 GiB of disk. */
export function request(appId: string, overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    appId,
    appName: appId,
    count: 1,
    runtime: 'container',
    memoryBytes: 256 * MiB,
    cpuMilli: 250,
    diskBytes: GiB,
    ...overrides,
  };
}

let nextInstance = 0;

export function instance(
  appId: string,
  nodeId: string,
  overrides: Partial<PlacedInstance> = {},
): PlacedInstance {
  return {
    id: `inst-${nextInstance++}`,
    appId,
    nodeId,
    memoryBytes: 256 * MiB,
    cpuMilli: 250,
    diskBytes: GiB,
    ...overrides,
  };
}
