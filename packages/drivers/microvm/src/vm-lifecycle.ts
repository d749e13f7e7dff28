import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DriverError,
  type DriverCapabilities,
  type DriverErrorCode,
  type InstanceHandle,
  type InstanceStats,
  type InstanceStatus,
  type LogLine,
  type LogOptions,
  type StopOptions,
} from '@shellwego/driver-sdk';
import { removeConfigDrive } from './config-drive.js';
import { appExitCodeFromLog, readLogLines } from './logs.js';
import { restoreVeth } from './netns.js';
import { isOurProcess, readProcStats } from './proc-stats.js';
import { forgetImageUse, pruneRootImages } from './rootfs-image.js';
import {
  DRIVER_NAME,
  parseHandle,
  parseStopResult,
  type Backend,
  type MicrovmDriverState,
  type StopResult,
} from './state.js';

const KILL_WAIT_MS = 5_000;
const POLL_MS = 50;
/** Pruning reads every ref and image of the cache: once a minute per cache is plenty. */
const PRUNE_EVERY_MS = 60_000;
const lastPrune = new Map<string, number>();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function fail(code: DriverErrorCode, message: string, cause?: unknown): DriverError {
  return new DriverError(DRIVER_NAME, code, message, cause === undefined ? {} : { cause });
}

/** Files of one instance under its instance dir. */
export function instanceFiles(instanceDir: string): {
  pidFile: string;
  exitFile: string;
  resultFile: string;
} {
  return {
    pidFile: join(instanceDir, 'vmm.pid'),
    exitFile: join(instanceDir, 'vmm.exit'),
    resultFile: join(instanceDir, 'result.json'),
  };
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function readPid(pidFile: string): Promise<number | null> {
  const n = Number.parseInt((await readFile(pidFile, 'utf8').catch(() => '')).trim(), 10);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The VMM's PID when it is still our live process, else null. */
export async function livePid(st: MicrovmDriverState): Promise<number | null> {
  const pid = await readPid(instanceFiles(st.instanceDir).pidFile);
  return pid !== null && (await isOurProcess(pid, st.marker)) ? pid : null;
}

async function waitGone(st: MicrovmDriverState, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await livePid(st)) === null) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/**
 * What both VMM backends share once a VM runs: it is a detached process found by pid file and marker, its console
 * is the log file, it stops by a guest-side shutdown request then SIGKILL, and it leaves a result file behind.
 *
 *   start ──► running ──(app exits: guest powers off)──► exited ──stop──► stopped (result.json, resources freed)
 *                │                                                          ▲
 *                └──stop: shutdown request, grace, SIGKILL──────────────────┘   destroy: + instance dir, logs
 */
export abstract class VmLifecycle {
  /** Both backends are the one runtime `microvm`: apps ask for a runtime, not a VMM. */
  readonly name = 'microvm';
  readonly capabilities: DriverCapabilities = {
    signals: false,
    exec: false,
    fsIsolation: 'image',
    networkModes: ['none', 'netns'],
    mustCreateNetwork: false,
  };
  protected abstract readonly backend: Backend;
  /** Asks the guest to end its app (best effort, must not throw). */
  protected abstract requestShutdown(st: MicrovmDriverState): Promise<void>;
  /** Extra cleanup of the backend (sockets, jail), after the VMM is gone. */
  protected abstract releaseBackend(st: MicrovmDriverState): Promise<void>;
  /** The instance's writable root image, removed at stop. */
  protected abstract rootImageOf(st: MicrovmDriverState): string;
  /** Where the cached ext4 images of image trees live (rootfs-image.ts). */
  protected abstract imageCacheOf(st: MicrovmDriverState): string;

  /** Deletes cached root images nothing uses any more (policy in rootfs-image.ts); best effort, throttled. */
  protected async pruneImages(st: MicrovmDriverState): Promise<void> {
    const cacheDir = this.imageCacheOf(st);
    if (Date.now() - (lastPrune.get(cacheDir) ?? 0) < PRUNE_EVERY_MS) return;
    lastPrune.set(cacheDir, Date.now());
    await pruneRootImages(cacheDir).catch(() => undefined);
  }

  protected parse(handle: InstanceHandle): MicrovmDriverState {
    return parseHandle(handle, this.backend);
  }

  async stop(handle: InstanceHandle, opts: StopOptions): Promise<void> {
    const st = this.parse(handle);
    const files = instanceFiles(st.instanceDir);
    try {
      const pid = await livePid(st);
      if (pid !== null) {
        await this.requestShutdown(st);
        if (!(await waitGone(st, opts.graceMs))) {
          process.kill(pid, 'SIGKILL');
          if (!(await waitGone(st, KILL_WAIT_MS)))
            throw fail('STOP_FAILED', `VMM pid ${pid} survived SIGKILL`);
        }
      }
      // The shim writes the status right after the VMM ends; give it a moment so the exit code isn't lost.
      for (let i = 0; i < 40 && !(await exists(files.exitFile)) && (await exists(files.pidFile)); i++)
        await sleep(POLL_MS);
      if ((await exists(st.instanceDir)) && !(await exists(files.resultFile))) {
        const result: StopResult = {
          exitCode: (await appExitCodeFromLog(st.logPath)) ?? (await readNumber(files.exitFile)),
          finishedAt: ((await stat(files.exitFile).catch(() => null))?.mtime ?? new Date()).toISOString(),
        };
        await writeFile(files.resultFile, JSON.stringify(result));
      }
      await this.release(st);
      await this.pruneImages(st);
    } catch (e) {
      if (e instanceof DriverError) throw e;
      throw fail('STOP_FAILED', `could not stop ${handle.instanceId}: ${(e as Error).message}`, e);
    }
  }

  /** Frees what a stopped VM holds: network changes, config drive (secrets), root copy, sockets. Idempotent. */
  protected async release(st: MicrovmDriverState): Promise<void> {
    if (st.netnsPath !== null && (await exists(st.netnsPath))) await restoreVeth(st.netnsPath, st.veth);
    await removeConfigDrive(st.configDrive);
    await rm(this.rootImageOf(st), { force: true });
    await this.releaseBackend(st);
    await rm(st.runDir, { recursive: true, force: true });
  }

  async destroy(handle: InstanceHandle): Promise<void> {
    const st = this.parse(handle);
    await this.stop(handle, { graceMs: 0 });
    await forgetImageUse(this.imageCacheOf(st), st.instanceDir);
    await rm(st.instanceDir, { recursive: true, force: true });
    await rm(st.logPath, { force: true });
    await rm(`${st.logPath}.1`, { force: true });
    await rmdirIfEmpty(join(st.instanceDir, '..'));
  }

  async inspect(handle: InstanceHandle): Promise<InstanceStatus> {
    const st = this.parse(handle);
    const files = instanceFiles(st.instanceDir);
    const startedAt = new Date(st.startedAt);
    const pid = await livePid(st);
    if (pid !== null) return { state: 'running', exitCode: null, pid, startedAt, finishedAt: null };
    const saved = parseStopResult(JSON.parse(await readFile(files.resultFile, 'utf8').catch(() => 'null')));
    if (saved !== null) {
      return {
        state: 'exited',
        exitCode: saved.exitCode,
        pid: null,
        startedAt,
        finishedAt: new Date(saved.finishedAt),
      };
    }
    if (!(await exists(st.instanceDir))) {
      return { state: 'unknown', exitCode: null, pid: null, startedAt: null, finishedAt: null };
    }
    const finished = await stat(files.exitFile).catch(() => null);
    return {
      state: 'exited',
      exitCode: (await appExitCodeFromLog(st.logPath)) ?? (await readNumber(files.exitFile)),
      pid: null,
      startedAt,
      finishedAt: finished?.mtime ?? null,
    };
  }

  async stats(handle: InstanceHandle): Promise<InstanceStats> {
    const st = this.parse(handle);
    const pid = await livePid(st);
    const s = pid === null ? null : await readProcStats(pid);
    if (s === null) throw fail('INSTANCE_NOT_FOUND', `VM of ${handle.instanceId} is not running`);
    // The VMM's RSS includes guest RAM the guest touched plus the VMM itself; the limit is the guest RAM size.
    return { cpuUsageNs: s.cpuUsageNs, memoryBytes: s.rssBytes, memoryLimitBytes: st.memoryBytes };
  }

  logs(handle: InstanceHandle, opts: LogOptions): AsyncIterable<LogLine> {
    return readLogLines(this.parse(handle).logPath, opts);
  }
}

async function readNumber(path: string): Promise<number | null> {
  const n = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10);
  return Number.isInteger(n) ? n : null;
}

async function rmdirIfEmpty(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => null);
  if (entries !== null && entries.length === 0) await rm(dir, { recursive: true, force: true });
}
