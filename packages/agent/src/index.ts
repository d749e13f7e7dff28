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
export { withoutSecrets } from './reconciler/spec-form.js';

// Resolving: the control plane's wire spec into a driver's InstanceSpec, with the node's image store.
export { Resolver } from './resolve/resolver.js';
export type { ResolverOptions, ResolveHooks, SpecResolver, ImageSource } from './resolve/resolver.js';

// Executor: carries out plan()'s actions with a driver and the network, with backoff and crash-loop detection.
export { Executor } from './executor/executor.js';
export { DriverSet, usesHostNetwork } from './executor/driver-set.js';
export type { RuntimeDrivers } from './executor/driver-set.js';
export { ArtifactCache } from './resolve/artifacts.js';
export type { ArtifactFetcher } from './resolve/artifacts.js';
export type { ExecutorOptions, ActionResult, RecoverResult, InstanceNetworker } from './executor/executor.js';
export { RestartTracker, defaultBackoff, defaultCrashLoop } from './executor/restart-tracker.js';
export type { BackoffOptions, CrashLoopOptions, RestartCondition } from './executor/restart-tracker.js';
export { systemClock } from './executor/clock.js';
export type { Clock } from './executor/clock.js';

// State: the agent's on-disk record of the instances it runs.
export { InstanceStore } from './state/instance-store.js';
export type { InstanceRecord } from './state/instance-store.js';

// Health checks from the host: HTTP path or TCP port, with thresholds.
export { HealthMonitor } from './health/health-monitor.js';
export type { HealthStatus, HealthChange } from './health/health-monitor.js';
export { probeOf, defaultTimings } from './health/health-check.js';
export type { HealthCheckSpec } from './health/health-check.js';
export { httpProbe, tcpProbe } from './health/probes.js';
export type { Probe, ProbeResult } from './health/probes.js';
export { HealthBoard } from './health/health-board.js';
export type { HealthTarget } from './health/health-board.js';

// Metrics: the agent's Prometheus registry and its /metrics server.
export { AgentMetrics, memoryPressure } from './metrics/agent-metrics.js';
export type { AgentMetricsOptions } from './metrics/agent-metrics.js';
export { startMetricsServer } from './metrics/metrics-server.js';
export type { MetricsServer } from './metrics/metrics-server.js';

// Daemon: the node protocol's agent side (register, watch, report, heartbeat) wired to the executor.
export { Agent } from './daemon/agent.js';
export type { AgentOptions, AgentState } from './daemon/agent.js';
export { agentConfigSchema } from './daemon/config.js';
export type { AgentConfig, AgentConfigInput, WatchBackoff } from './daemon/config.js';
export {
  ControlPlaneClient,
  ControlPlaneError,
  backoffDelay,
  parseWatchMessage,
} from './daemon/control-plane-client.js';
export type { Watch, WatchHandlers, WatchMessage } from './daemon/control-plane-client.js';
export { CredentialsStore } from './daemon/credentials.js';
export type { NodeCredentials } from './daemon/credentials.js';
export type { AgentLogger } from './daemon/logger.js';
