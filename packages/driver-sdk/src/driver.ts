import type { InstanceSpec } from './spec.js';

/** A JSON value: what a handle's driverState may hold, so the agent can persist it and hand it back after a restart. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Static facts the agent reads instead of probing (Nomad's Capabilities). */
export interface DriverCapabilities {
  /** Can deliver arbitrary signals to the instance's main process. */
  signals: boolean;
  exec: boolean;
  fsIsolation: 'none' | 'chroot' | 'image';
  /** Network modes the driver accepts: 'none' = an empty namespace of its own, 'netns' = join spec.netnsPath. */
  networkModes: readonly ('none' | 'netns' | 'host')[];
  /** True when the driver creates the network itself rather than joining the agent's namespace. */
  mustCreateNetwork: boolean;
}

export interface DriverFingerprint {
  usable: boolean;
  version?: string;
  /** Why not usable, in a sentence a node operator can act on. */
  reason?: string;
  attributes?: Record<string, string>;
}

/** What survives an agent restart: the agent stores it and passes it back to recover/inspect/stop. */
export interface InstanceHandle {
  driver: string;
  instanceId: string;
  /** Bumped when driverState's shape changes, so a newer agent can reject or migrate an older handle. */
  version: 1;
  driverState: JsonValue;
}

export type InstanceState = 'running' | 'exited' | 'oom-killed' | 'unknown';

export interface InstanceStatus {
  state: InstanceState;
  /** null when not exited yet or when the driver cannot know it. */
  exitCode: number | null;
  pid: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface InstanceStats {
  cpuUsageNs: number;
  memoryBytes: number;
  /** null when unlimited. */
  memoryLimitBytes: number | null;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
  at: Date;
}

export interface LogOptions {
  /** Keep reading new lines until `signal` aborts. */
  follow: boolean;
  /** Only lines at or after this time (where the driver knows line times). */
  since?: Date;
  signal: AbortSignal;
}

export interface StopOptions {
  /** How long the process gets after SIGTERM before SIGKILL. */
  graceMs: number;
}

/** The contract every runtime (runc, microvm, wasm) implements; see STYLE.md §4. */
export interface RuntimeDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  fingerprint(): Promise<DriverFingerprint>;
  start(spec: InstanceSpec): Promise<InstanceHandle>;
  /** Ends the instance and releases its runtime resources; calling it again is a no-op. */
  stop(handle: InstanceHandle, opts: StopOptions): Promise<void>;
  /** Stops if needed and removes everything the instance left on the node, logs included. */
  destroy(handle: InstanceHandle): Promise<void>;
  inspect(handle: InstanceHandle): Promise<InstanceStatus>;
  /** Re-attaches after an agent restart without restarting; false when the instance is gone. */
  recover(handle: InstanceHandle): Promise<boolean>;
  stats(handle: InstanceHandle): Promise<InstanceStats>;
  logs(handle: InstanceHandle, opts: LogOptions): AsyncIterable<LogLine>;
}
