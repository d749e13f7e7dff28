// Placement: a read-only snapshot of nodes and instances plus requests in, a plan out. No I/O.
export { place } from './place.js';
export { reservationOf, WASM_RESERVED_MEMORY_BYTES } from './reservation.js';
export type {
  ClusterSnapshot,
  NodeSnapshot,
  PlacedInstance,
  PlacementRequest,
  Placement,
  PlacementFailure,
  PlanResult,
  Resources,
} from './types.js';
