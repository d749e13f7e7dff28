import { DriverError, type InstanceHandle } from '@shellwego/driver-sdk';
import type { VethConfig } from './netns.js';

// Hand-written guards rather than zod (this package depends on the SDK only), as in the runc driver.

export const DRIVER_NAME = 'microvm';
export type Backend = 'qemu' | 'firecracker';

/** What survives an agent restart, in InstanceHandle.driverState. `backend` says which VMM owns the instance. */
export type MicrovmDriverState = {
  backend: Backend;
  /** <stateDir>/microvm/<id>: root overlay, VMM pid file, exit status. */
  instanceDir: string;
  /** Short path for the VMM's unix sockets (a sun_path holds 107 bytes; state dirs can be longer). */
  runDir: string;
  logPath: string;
  /** The config drive on tmpfs; deleted at stop. */
  configDrive: string;
  netnsPath: string | null;
  /** The agent's veth end as it was before bridging, restored at stop. */
  veth: VethConfig | null;
  memoryBytes: number;
  /** Appears in the VMM's command line: tells our process from a reused PID. */
  marker: string;
  startedAt: string;
};

/** Written at stop, because the VMM and the files that told the outcome are gone afterwards. */
export type StopResult = { exitCode: number | null; finishedAt: string };

export function makeHandle(instanceId: string, state: MicrovmDriverState): InstanceHandle {
  return { driver: DRIVER_NAME, instanceId, version: 1, driverState: state };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isAbs = (v: unknown): v is string => typeof v === 'string' && v.startsWith('/');

function parseVeth(v: unknown): VethConfig | null | undefined {
  if (v === null) return null;
  if (!isRecord(v)) return undefined;
  const { ifname, mac, ip, prefix, gateway } = v;
  if (typeof ifname !== 'string' || typeof mac !== 'string' || typeof ip !== 'string') return undefined;
  if (typeof prefix !== 'number' || !(gateway === null || typeof gateway === 'string')) return undefined;
  return { ifname, mac, ip, prefix, gateway };
}

/** Validates a handle the agent kept (possibly from disk, possibly from an older agent) before trusting its paths. */
export function parseHandle(handle: InstanceHandle, backend: Backend): MicrovmDriverState {
  const bad = (why: string): DriverError =>
    new DriverError(DRIVER_NAME, 'INVALID_HANDLE', `handle of ${handle.instanceId}: ${why}`);
  if (handle.driver !== DRIVER_NAME || handle.version !== 1)
    throw bad(`not a microvm v1 handle (${handle.driver})`);
  const v = handle.driverState;
  if (!isRecord(v)) throw bad('driverState is not an object');
  if (v.backend !== backend) throw bad(`started by the ${JSON.stringify(v.backend)} backend, not ${backend}`);
  const veth = parseVeth(v.veth);
  const { instanceDir, runDir, logPath, configDrive, netnsPath, memoryBytes, marker, startedAt } = v;
  if (![instanceDir, runDir, logPath, configDrive].every(isAbs)) throw bad('malformed paths');
  if (!(netnsPath === null || isAbs(netnsPath)) || veth === undefined) throw bad('malformed network');
  if (typeof memoryBytes !== 'number' || typeof marker !== 'string' || typeof startedAt !== 'string') {
    throw bad('malformed driverState');
  }
  return {
    backend,
    instanceDir: instanceDir as string,
    runDir: runDir as string,
    logPath: logPath as string,
    configDrive: configDrive as string,
    netnsPath,
    veth,
    memoryBytes,
    marker,
    startedAt,
  };
}

export function parseStopResult(v: unknown): StopResult | null {
  if (!isRecord(v)) return null;
  const { exitCode, finishedAt } = v;
  if (!(exitCode === null || Number.isInteger(exitCode)) || typeof finishedAt !== 'string') return null;
  return { exitCode: exitCode as number | null, finishedAt };
}
