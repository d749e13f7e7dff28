/** A node as the scheduler sees it at the start of a planning pass. */
export interface NodeSnapshot {
  id: string;
  name: string;
  /** Failure domain; nodes without one are treated as one zone of their own. */
  zone: string | null;
  /** Only `ready` nodes take new instances. */
  status: 'ready' | 'pending' | 'unreachable' | 'draining';
  /** Runtimes the node offers, e.g. `['container']` or `['container', 'wasm']`. */
  runtimes: string[];
  capacity: { memoryBytes: number; cpuMilli: number; diskBytes: number };
  /** Image digests (sha256:…) already on the node. */
  images: readonly string[];
}

/** An instance that already runs (or is already placed) on a node; it holds its resources there. */
export interface PlacedInstance {
  id: string;
  appId: string;
  nodeId: string;
  memoryBytes: number;
  cpuMilli: number;
  diskBytes: number;
}

/** What the cluster looks like now: the scheduler reads it and never changes it. */
export interface ClusterSnapshot {
  nodes: readonly NodeSnapshot[];
  instances: readonly PlacedInstance[];
}

/** New instances wanted for one app; every instance needs the same resources. */
export interface PlacementRequest {
  appId: string;
  /** Only used in failure messages. */
  appName: string;
  /** Instances to place now for this app (new ones; existing ones are in the snapshot). */
  count: number;
  runtime: string;
  memoryBytes: number;
  cpuMilli: number;
  diskBytes: number;
  /** Nodes that already hold this digest are preferred, so the instance starts without a pull. */
  imageDigest?: string;
  /** Nodes this request must not use (e.g. the node a failed instance was on). */
  excludeNodes?: readonly string[];
}

/** One new instance of `appId` goes on `nodeId`. */
export interface Placement {
  appId: string;
  nodeId: string;
}

/** A request that could not be placed in full; `reason` names the tightest constraint. */
export interface PlacementFailure {
  appId: string;
  appName: string;
  wanted: number;
  placed: number;
  reason: string;
}

/** The plan: placements in request order, and one failure per request that fell short. */
export interface PlanResult {
  placements: Placement[];
  failures: PlacementFailure[];
}

/** The resources one instance holds. */
export interface Resources {
  memoryBytes: number;
  cpuMilli: number;
  diskBytes: number;
}
