import { httpProbe, tcpProbe, type Probe } from './probes.js';

/** An app's health check as configured: HTTP path or TCP port, how often, how long to wait, how many in a row count. */
export type HealthCheckSpec = (
  { kind: 'http'; port: number; path: string } | { kind: 'tcp'; port: number }
) & {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive successes before an instance counts as healthy. */
  healthyThreshold: number;
  /** Consecutive failures before a healthy (or new) instance counts as unhealthy. */
  unhealthyThreshold: number;
};

export const defaultTimings = {
  intervalMs: 10_000,
  timeoutMs: 2_000,
  healthyThreshold: 1,
  unhealthyThreshold: 3,
} as const;

/** The probe a spec describes. */
export function probeOf(spec: HealthCheckSpec): Probe {
  return spec.kind === 'http' ? httpProbe(spec.port, spec.path) : tcpProbe(spec.port);
}
