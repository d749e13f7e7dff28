import { readFile } from 'node:fs/promises';
import type { InstanceStats } from '@shellwego/driver-sdk';

const CGROUP = '/sys/fs/cgroup';
// The kernel reports "no limit" as a huge page-aligned number on v1 and as "max" on v2.
const UNLIMITED_V1 = 2 ** 62;

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

function keyed(text: string | null, key: string): number | null {
  const line = text?.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? null : Number(line.split(' ')[1]);
}

/** CPU and memory of the container's cgroup: v1 files (this machine), v2 unified files otherwise. Null if gone. */
export async function readCgroupStats(cgroupsPath: string): Promise<InstanceStats | null> {
  const v1Usage = await readText(`${CGROUP}/memory${cgroupsPath}/memory.usage_in_bytes`);
  if (v1Usage !== null) {
    const cpu = (await readText(`${CGROUP}/cpuacct${cgroupsPath}/cpuacct.usage`)) ?? '0';
    const limit = Number((await readText(`${CGROUP}/memory${cgroupsPath}/memory.limit_in_bytes`)) ?? 'NaN');
    return {
      cpuUsageNs: Number(cpu),
      memoryBytes: Number(v1Usage),
      memoryLimitBytes: Number.isFinite(limit) && limit < UNLIMITED_V1 ? limit : null,
    };
  }
  const v2Usage = await readText(`${CGROUP}${cgroupsPath}/memory.current`);
  if (v2Usage === null) return null;
  const usageUsec = keyed(await readText(`${CGROUP}${cgroupsPath}/cpu.stat`), 'usage_usec') ?? 0;
  const max = await readText(`${CGROUP}${cgroupsPath}/memory.max`);
  return {
    cpuUsageNs: usageUsec * 1000,
    memoryBytes: Number(v2Usage),
    memoryLimitBytes: max === null || max === 'max' ? null : Number(max),
  };
}

/** How many processes the kernel OOM-killed in the cgroup (v1 memory.oom_control, v2 memory.events). */
export async function readOomKills(cgroupsPath: string): Promise<number> {
  const v1 = keyed(await readText(`${CGROUP}/memory${cgroupsPath}/memory.oom_control`), 'oom_kill');
  if (v1 !== null) return v1;
  return keyed(await readText(`${CGROUP}${cgroupsPath}/memory.events`), 'oom_kill') ?? 0;
}
