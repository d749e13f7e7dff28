// Hand-written guards rather than zod: this package doesn't depend on zod, and the shapes are tiny.

/** What the runc driver needs to find an instance again after an agent restart: stored in InstanceHandle.driverState. */
export interface RuncDriverState {
  [key: string]: string;
  containerId: string;
  runcRoot: string;
  instanceDir: string;
  logPath: string;
  startedAt: string;
}

/** Written at stop, because the cgroup and runc state that told us the outcome are deleted then. */
export interface StopResult {
  exitCode: number | null;
  oomKilled: boolean;
  finishedAt: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseRuncDriverState(v: unknown): RuncDriverState | null {
  if (!isRecord(v)) return null;
  const { containerId, runcRoot, instanceDir, logPath, startedAt } = v;
  const absolute = [runcRoot, instanceDir, logPath].every((p) => typeof p === 'string' && p.startsWith('/'));
  if (typeof containerId !== 'string' || containerId === '' || !absolute || typeof startedAt !== 'string')
    return null;
  return {
    containerId,
    runcRoot: runcRoot as string,
    instanceDir: instanceDir as string,
    logPath: logPath as string,
    startedAt,
  };
}

export function parseStopResult(v: unknown): StopResult | null {
  if (!isRecord(v)) return null;
  const { exitCode, oomKilled, finishedAt } = v;
  if (
    !(exitCode === null || Number.isInteger(exitCode)) ||
    typeof oomKilled !== 'boolean' ||
    typeof finishedAt !== 'string'
  ) {
    return null;
  }
  return { exitCode: exitCode as number | null, oomKilled, finishedAt };
}
