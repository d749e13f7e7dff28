import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DriverError,
  instanceSpecSchema,
  type DriverCapabilities,
  type DriverFingerprint,
  type InstanceHandle,
  type InstanceSpec,
  type InstanceStats,
  type InstanceStatus,
  type LogLine,
  type LogOptions,
  type RuntimeDriver,
  type StopOptions,
} from '@shellwego/driver-sdk';
import { fillBundle, instancePaths, prepareBundle, removeBundle } from './bundle.js';
import { readCgroupStats, readOomKills } from './cgroup-stats.js';
import { DRIVER_NAME, makeHandle, parseHandle } from './handle.js';
import { LogRotation } from './log-rotation.js';
import { MAX_LOG_BYTES, readLogLines, rotateIfLarge } from './logs.js';
import { buildOciConfig } from './oci-config.js';
import { RuncCli, type RuncState } from './runc-cli.js';
import { runTool } from './run-tool.js';
import { spawnShim } from './shim.js';
import { parseStopResult, type RuncDriverState, type StopResult } from './state.js';

const START_TIMEOUT_MS = 10_000;
const KILL_TIMEOUT_MS = 5_000;
const POLL_MS = 50;
const FAST_POLL_MS = 3;
const LOG_CHECK_MS = 10_000;
const ROTATED_LOGS = 2;

export interface RuncDriverOptions {
  /** runc binary; resolved on PATH by default. */
  runc?: string;
  /** A running container's log is rotated past this size (default MAX_LOG_BYTES), checked every `logCheckMs`. */
  maxLogBytes?: number;
  logCheckMs?: number;
  /** Rotated log files kept beside the live one (`<id>.log.1` newest); default 2. */
  rotatedLogs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cgroupsPathOf(containerId: string): string {
  return `/${containerId}`;
}

function fail(
  code: ConstructorParameters<typeof DriverError>[1],
  message: string,
  cause?: unknown,
): DriverError {
  return new DriverError(DRIVER_NAME, code, message, cause === undefined ? {} : { cause });
}

/**
 * Whether a container that is gone by the time its start was checked ran its process (and exited on its own: an
 * instance that exited, with its code and output, for inspect to report) rather than failed to start. runc writes
 * the pid file once the container exists; its own failures (a missing executable, a bad mount) end with its error
 * line, `level=error msg="runc run failed: …"` or `unable to start container process`, in the output.
 */
export function ranThenExited(pidFileSeen: boolean, outputTail: string): boolean {
  return pidFileSeen && !/level=error|runc run failed|unable to start container process/.test(outputTail);
}

/** Runs each instance as one runc container over an overlay of the shared image tree (ARCHITECTURE.md "Runtime drivers"). */
export class RuncDriver implements RuntimeDriver {
  readonly name = DRIVER_NAME;
  readonly capabilities: DriverCapabilities = {
    signals: true,
    exec: true,
    fsIsolation: 'image',
    networkModes: ['none', 'netns'],
    mustCreateNetwork: false,
  };
  private readonly runc: string;
  private readonly maxLogBytes: number;
  private readonly rotatedLogs: number;
  private readonly rotation: LogRotation;

  constructor(opts: RuncDriverOptions = {}) {
    this.runc = opts.runc ?? 'runc';
    this.maxLogBytes = opts.maxLogBytes ?? MAX_LOG_BYTES;
    this.rotatedLogs = opts.rotatedLogs ?? ROTATED_LOGS;
    this.rotation = new LogRotation({
      intervalMs: opts.logCheckMs ?? LOG_CHECK_MS,
      maxBytes: this.maxLogBytes,
      keep: this.rotatedLogs,
    });
  }

  async fingerprint(): Promise<DriverFingerprint> {
    if (process.getuid?.() !== 0)
      return { usable: false, reason: 'runc needs root for cgroups and mounts; run the agent as root' };
    const r = await runTool(this.runc, ['--version']).catch((e: unknown) => ({
      code: -1,
      stdout: '',
      stderr: String(e),
    }));
    const version = /runc version (\S+)/.exec(r.stdout)?.[1];
    if (r.code !== 0 || version === undefined) {
      return {
        usable: false,
        reason: `\`${this.runc} --version\` failed (${r.stderr.trim() || 'no version'}); install runc`,
      };
    }
    return { usable: true, version };
  }

  async start(input: InstanceSpec): Promise<InstanceHandle> {
    const parsed = instanceSpecSchema.safeParse(input);
    if (!parsed.success) throw fail('INVALID_SPEC', `invalid instance spec: ${parsed.error.message}`);
    const spec = parsed.data;
    const id = spec.instanceId;
    const state: RuncDriverState = {
      containerId: id,
      runcRoot: join(spec.stateDir, 'runc'),
      instanceDir: join(spec.stateDir, 'instances', id),
      logPath: join(spec.logDir, `${id}.log`),
      startedAt: new Date().toISOString(),
    };
    const cli = new RuncCli(this.runc, state.runcRoot);
    const paths = instancePaths(state.instanceDir);
    // runc keeps a container's state in <root>/<id>/state.json: a stat instead of a `runc state` process.
    if (await exists(join(state.runcRoot, id, 'state.json')))
      throw fail('START_FAILED', `container ${id} already exists; stop it first`);

    try {
      await mkdir(state.runcRoot, { recursive: true, mode: 0o700 });
      await mkdir(spec.logDir, { recursive: true });
      // Leftovers of an earlier run with the same id would report its exit code as ours.
      await rm(paths.exitFile, { force: true });
      await rm(paths.resultFile, { force: true });
      await rotateIfLarge(state.logPath, this.maxLogBytes, { keep: this.rotatedLogs });
      const config = buildOciConfig({
        spec,
        secretsDir: paths.secretsDir,
        cgroupsPath: cgroupsPathOf(id),
        rootPath: paths.rootfs,
      });
      await spawnShim({
        runc: this.runc,
        runcRoot: state.runcRoot,
        bundleDir: paths.bundleDir,
        pidFile: paths.pidFile,
        containerId: id,
        exitFile: paths.exitFile,
        logPath: state.logPath,
        mounts: await prepareBundle(paths, spec),
        onMounted: () => fillBundle(paths, spec, config),
      });
      await this.waitStarted(cli, id, paths, state.logPath);
    } catch (e) {
      await cli.deleteForce(id).catch(() => undefined);
      await removeBundle(paths).catch(() => undefined);
      if (e instanceof DriverError) throw e;
      throw fail('START_FAILED', `could not start ${id}: ${(e as Error).message}`, e);
    }
    this.rotation.watch(state.logPath);
    return makeHandle(id, state);
  }

  /**
   * Waits for runc to write the pid file (the container exists) or the shim its exit file (runc gave up), then for
   * the container to leave `created`, with cheap stats every few ms: running is what `runc state` itself checks, the
   * recorded init alive and runc's exec fifo gone (`runc start` removes it). `runc state` (a runc process, ~10-30 ms)
   * is asked only when the shim has seen runc exit, and now and then as the final word.
   */
  private async waitStarted(
    cli: RuncCli,
    id: string,
    paths: { pidFile: string; exitFile: string },
    logPath: string,
  ): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const stateDir = join(cli.root, id);
    let polls = 0;
    while (Date.now() < deadline) {
      const created = await exists(paths.pidFile);
      if (
        created &&
        (await runningPid(join(stateDir, 'state.json'), paths.exitFile)) !== null &&
        !(await exists(join(stateDir, 'exec.fifo')))
      )
        return;
      const ended = await exists(paths.exitFile);
      // Otherwise still ask runc now and then: the files are ours, the truth is runc's.
      if (ended || ++polls % 20 === 0) {
        const s = await cli.state(id);
        if (s !== null && s.status !== 'created') return; // running, or already exited: either way it started
        if (s === null && (ended || (await exists(paths.exitFile)))) {
          const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-500).trim();
          // A process that exits at once is gone (and `runc run` has deleted it) before a busy poll saw it run.
          if (ranThenExited(created || (await exists(paths.pidFile)), tail)) return;
          throw fail('START_FAILED', `runc run for ${id} failed: ${tail || 'no output'}`);
        }
      }
      await sleep(created ? 5 : FAST_POLL_MS);
    }
    throw fail('START_FAILED', `${id} did not start within ${START_TIMEOUT_MS} ms`);
  }

  async stop(handle: InstanceHandle, opts: StopOptions): Promise<void> {
    const st = parseHandle(handle);
    const cli = new RuncCli(this.runc, st.runcRoot);
    const paths = instancePaths(st.instanceDir);
    const id = st.containerId;
    this.rotation.unwatch(st.logPath);
    try {
      const stateFile = join(st.runcRoot, id, 'state.json');
      // The common case without `runc state` and `runc kill` processes (~30 ms of CPU each; a node deleting 1,000
      // instances would spawn thousands): the init process, verified by its start time, is signalled directly and
      // watched through /proc and the shim's exit file.
      const pid = await runningPid(stateFile, paths.exitFile);
      let present = true;
      if (pid !== null) {
        await signalAndWait(pid, () => runningPid(stateFile, paths.exitFile), opts.graceMs);
      } else {
        let s = await cli.state(id);
        if (s !== null && s.status !== 'stopped') {
          await cli.kill(id, 'TERM');
          s = await this.waitStopped(cli, id, opts.graceMs);
          if (s !== null && s.status !== 'stopped') {
            await cli.kill(id, 'KILL');
            s = await this.waitStopped(cli, id, KILL_TIMEOUT_MS);
          }
        }
        present = s !== null;
      }
      if (present) {
        // The shim writes the status right after runc returns; give it a moment so the exit code isn't lost.
        for (let i = 0; i < 40 && !(await exists(paths.exitFile)); i++) await sleep(POLL_MS);
        if (!(await exists(paths.resultFile))) {
          const result: StopResult = {
            exitCode: await readExitCode(paths.exitFile),
            oomKilled: (await readOomKills(cgroupsPathOf(id))) > 0,
            finishedAt: ((await stat(paths.exitFile).catch(() => null))?.mtime ?? new Date()).toISOString(),
          };
          await writeFile(paths.resultFile, JSON.stringify(result));
        }
        await cli.deleteForce(id);
      }
      await removeBundle(paths);
    } catch (e) {
      if (e instanceof DriverError) throw e;
      throw fail('STOP_FAILED', `could not stop ${id}: ${(e as Error).message}`, e);
    }
  }

  private async waitStopped(cli: RuncCli, id: string, ms: number): Promise<RuncState | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await cli.state(id);
      if (s === null || s.status === 'stopped' || Date.now() >= deadline) return s;
      await sleep(POLL_MS);
    }
  }

  async destroy(handle: InstanceHandle): Promise<void> {
    const st = parseHandle(handle);
    await this.stop(handle, { graceMs: 0 });
    await rm(st.instanceDir, { recursive: true, force: true });
    await rm(st.logPath, { force: true });
    for (let i = 1; i <= this.rotatedLogs; i++) await rm(`${st.logPath}.${String(i)}`, { force: true });
    // Drop the per-node dirs once their last instance is gone, so a destroyed instance leaves no trace at all.
    await rmdirIfEmpty(join(st.instanceDir, '..'));
    await rmdirIfEmpty(st.runcRoot);
  }

  async inspect(handle: InstanceHandle): Promise<InstanceStatus> {
    const st = parseHandle(handle);
    const paths = instancePaths(st.instanceDir);
    const startedAt = new Date(st.startedAt);
    // The common case, answered without a `runc state` process (~30 ms of CPU each; the agent inspects every
    // instance on every pass and report): the container's init is alive and the shim has not seen runc exit.
    const alive = await runningPid(join(st.runcRoot, st.containerId, 'state.json'), paths.exitFile);
    if (alive !== null) return { state: 'running', exitCode: null, pid: alive, startedAt, finishedAt: null };
    const s = await new RuncCli(this.runc, st.runcRoot).state(st.containerId);
    if (s !== null && s.status !== 'stopped') {
      return { state: 'running', exitCode: null, pid: s.pid, startedAt, finishedAt: null };
    }
    if (s !== null) {
      const oom = (await readOomKills(cgroupsPathOf(st.containerId))) > 0;
      const finished = await stat(paths.exitFile).catch(() => null);
      return {
        state: oom ? 'oom-killed' : 'exited',
        exitCode: await readExitCode(paths.exitFile),
        pid: null,
        startedAt,
        finishedAt: finished?.mtime ?? null,
      };
    }
    const saved = await readResult(paths.resultFile);
    if (saved === null)
      return { state: 'unknown', exitCode: null, pid: null, startedAt: null, finishedAt: null };
    return {
      state: saved.oomKilled ? 'oom-killed' : 'exited',
      exitCode: saved.exitCode,
      pid: null,
      startedAt,
      finishedAt: new Date(saved.finishedAt),
    };
  }

  async recover(handle: InstanceHandle): Promise<boolean> {
    const st = parseHandle(handle);
    const s = await new RuncCli(this.runc, st.runcRoot).state(st.containerId);
    const alive = s !== null && (s.status === 'running' || s.status === 'created');
    if (alive) this.rotation.watch(st.logPath);
    return alive;
  }

  async stats(handle: InstanceHandle): Promise<InstanceStats> {
    const st = parseHandle(handle);
    const stats = await readCgroupStats(cgroupsPathOf(st.containerId));
    if (stats === null) throw fail('INSTANCE_NOT_FOUND', `no cgroup for ${st.containerId}: is it running?`);
    return stats;
  }

  logs(handle: InstanceHandle, opts: LogOptions): AsyncIterable<LogLine> {
    return readLogLines(parseHandle(handle).logPath, opts, this.rotatedLogs);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readExitCode(path: string): Promise<number | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  const code = text === null ? NaN : Number.parseInt(text.trim(), 10);
  return Number.isInteger(code) ? code : null;
}

async function readResult(path: string): Promise<StopResult | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return parseStopResult(JSON.parse(text));
  } catch {
    return null; // a torn write from a crash mid-stop: treat as unknown
  }
}

async function rmdirIfEmpty(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => null);
  if (entries !== null && entries.length === 0) await rm(dir, { recursive: true, force: true });
}

/**
 * The pid of a running container's init from runc's own state file, when that process is alive and is the one runc
 * started (its start time in /proc matches the one runc recorded, so a reused pid is never taken for it) and the
 * shim has written no exit file; null in every other case, which the caller then asks runc about.
 */
/**
 * SIGTERM to `pid`, SIGKILL if it still runs after `graceMs`; returns once `alive()` says it is gone (or the kill's
 * own timeout passed).
 */
async function signalAndWait(
  pid: number,
  alive: () => Promise<number | null>,
  graceMs: number,
): Promise<void> {
  for (const [signal, ms] of [
    ['SIGTERM', graceMs],
    ['SIGKILL', KILL_TIMEOUT_MS],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // ESRCH: gone already
    }
    const deadline = Date.now() + ms;
    for (;;) {
      if ((await alive()) === null) return;
      if (Date.now() >= deadline) break;
      await sleep(POLL_MS);
    }
  }
}

async function runningPid(stateFile: string, exitFile: string): Promise<number | null> {
  if (await exists(exitFile)) return null;
  const text = await readFile(stateFile, 'utf8').catch(() => null);
  if (text === null) return null;
  let recorded: { init_process_pid?: unknown; init_process_start?: unknown };
  try {
    recorded = JSON.parse(text) as typeof recorded;
  } catch {
    return null; // being rewritten by runc
  }
  const pid = recorded.init_process_pid;
  if (typeof pid !== 'number' || pid <= 0) return null;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  // Fields after the command name (which may hold spaces, inside parentheses): state is field 3, starttime 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  return fields[19] === String(recorded.init_process_start) ? pid : null;
}
