// Network: bridge, per-instance namespace and veth, IPAM with persistent leases.
export { NetworkManager } from './network/network-manager.js';
export type { NetworkManagerOptions, InstanceNetwork, Leftovers } from './network/network-manager.js';
export { Ipam } from './network/ipam.js';
export { ensureBridge, removeBridge } from './network/bridge.js';
export type { BridgeSpec } from './network/bridge.js';
export { attach, detach, nsPathOf } from './network/instance-net.js';
export type { AttachSpec, Attachment } from './network/instance-net.js';
export { instanceNames } from './network/names.js';
export type { InstanceNames } from './network/names.js';
export { CommandError } from './network/exec.js';

// Reconciler: the pure plan from desired and actual instances.
export { plan } from './reconciler/plan.js';
export type { Action, ActualInstance, DesiredInstance } from './reconciler/plan.js';
