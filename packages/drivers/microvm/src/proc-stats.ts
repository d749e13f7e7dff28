import { readFile } from 'node:fs/promises';

// USER_HZ is 100 on every Linux architecture Node runs on; /proc/<pid>/stat counts CPU time in it.
const NS_PER_TICK = 10_000_000;

/** CPU time (user+system) and resident memory of a host process, or null when it is gone. */
export async function readProcStats(pid: number): Promise<{ cpuUsageNs: number; rssBytes: number } | null> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null),
    readFile(`/proc/${pid}/status`, 'utf8').catch(() => null),
  ]);
  if (stat === null || status === null) return null;
  // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? '0');
  return { cpuUsageNs: ticks * NS_PER_TICK, rssBytes: rssKiB * 1024 };
}

/** True when `pid` is alive, not a zombie, and its command line contains `marker` (guards against PID reuse). */
export async function isOurProcess(pid: number, marker: string): Promise<boolean> {
  const [cmdline, stat] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null),
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null),
  ]);
  if (cmdline === null || stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && cmdline.split('\0').some((a) => a.includes(marker));
}
