/** A cgroup-style cumulative CPU counter read at a moment of a monotonic clock. */
export interface CpuReading {
  cpuUsageNs: number;
  /** Milliseconds on a monotonic clock (performance.now()), never wall-clock time that can jump. */
  atMs: number;
}

/**
 * CPU used between two readings, in milli-CPU (1000 = one core busy the whole time), rounded; undefined when it
 * cannot be told: no time passed, or the counter went backwards (the instance was restarted under the same id).
 */
export function cpuMilli(prev: CpuReading, next: CpuReading): number | undefined {
  const usedNs = next.cpuUsageNs - prev.cpuUsageNs;
  const wallMs = next.atMs - prev.atMs;
  if (!(wallMs > 0) || !(usedNs >= 0)) return undefined;
  // usedNs / (wallMs * 1e6 ns) cores, times 1000 milli-CPU per core.
  return Math.round(usedNs / (wallMs * 1000));
}
