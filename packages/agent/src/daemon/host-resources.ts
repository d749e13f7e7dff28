import { statfs } from 'node:fs/promises';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import type { NodeResources } from '@shellwego/core';

export interface NodeCapacity {
  memory_bytes: number;
  cpu_milli: number;
  disk_bytes: number;
}

async function disk(path: string): Promise<{ total: number; used: number }> {
  const s = await statfs(path);
  return { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize };
}

/**
 * What the node offers, announced at registration and with every status report: all of its memory, its CPUs times
 * the operator's overcommit, and the disk holding the data dir.
 */
export async function hostCapacity(dataDir: string, cpuOvercommit = 1): Promise<NodeCapacity> {
  return {
    memory_bytes: totalmem(),
    cpu_milli: Math.round(availableParallelism() * 1000 * cpuOvercommit),
    disk_bytes: (await disk(dataDir)).total,
  };
}

/** What the node uses now; CPU from the 1-minute load average (a cheap, smoothed figure the scheduler can use). */
export async function hostResources(dataDir: string, instanceCount: number): Promise<NodeResources> {
  const cpuTotal = availableParallelism() * 1000;
  const d = await disk(dataDir);
  return {
    memory_total_bytes: totalmem(),
    memory_used_bytes: Math.max(0, totalmem() - freemem()),
    cpu_milli_total: cpuTotal,
    cpu_milli_used: Math.min(cpuTotal, Math.round((loadavg()[0] ?? 0) * 1000)),
    disk_total_bytes: d.total,
    disk_used_bytes: d.used,
    instance_count: instanceCount,
  };
}
