import type { NodeInstanceStatus } from '@shellwego/core';
import type { ActualInstance } from '../reconciler/plan.js';

/** How one instance is reported: the driver's view translated to the protocol's states. */
export function instanceStatus(
  a: ActualInstance,
  extra: { appId?: string | undefined; address?: string | undefined; condition?: string | undefined },
): NodeInstanceStatus {
  const base: NodeInstanceStatus = { id: a.instanceId, state: 'running' };
  if (extra.appId !== undefined) base.app_id = extra.appId;
  if (extra.address !== undefined) base.address = extra.address;
  if (extra.condition !== undefined) base.message = extra.condition;
  switch (a.state) {
    case 'running':
    case 'starting':
      return { ...base, state: a.state };
    case 'exited': {
      const code = a.exitCode ?? null;
      return { ...base, state: code === 0 ? 'stopped' : 'failed', exit_code: code };
    }
    case 'oom-killed':
      return { ...base, state: 'failed', oom_killed: true, exit_code: a.exitCode ?? null };
    case 'failed':
      return { ...base, state: 'failed' };
    case 'unknown':
      // Recorded here but unknown to the runtime: the next pass restarts or removes it.
      return {
        ...base,
        state: 'pending',
        message: extra.condition ?? 'the runtime does not know this instance',
      };
  }
}

/** The part of a usage sample the report carries (StatsSampler's InstanceUsage). */
export interface ReportedUsage {
  memoryBytes: number;
  cpuMilli: number | undefined;
}

/**
 * Adds each running instance's latest usage sample (`memory_bytes`, `cpu_milli`) to its status; an instance without a
 * sample (just started, stats failing) or not running is left without them, which the protocol reads as unknown.
 */
export function withUsage(
  statuses: NodeInstanceStatus[],
  usageOf: (instanceId: string) => ReportedUsage | undefined,
): NodeInstanceStatus[] {
  for (const s of statuses) {
    const u = s.state === 'running' ? usageOf(s.id) : undefined;
    if (u === undefined) continue;
    // Drivers read kernel counters; rounding keeps an odd VMM figure within the protocol's integers.
    s.memory_bytes = Math.max(0, Math.round(u.memoryBytes));
    if (u.cpuMilli !== undefined) s.cpu_milli = u.cpuMilli;
  }
  return statuses;
}
