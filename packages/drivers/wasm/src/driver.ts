import type {} from './webassembly-types.js';
import { mkdir, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
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
import { makeHandle, parseHandle, type WasmDriverState } from './handle.js';
import { DRIVER_NAME, ensureHost, hostClient, HostUnavailableError } from './host-client.js';
import { readLogLines } from './logs.js';
import { instanceInfoSchema, instanceStatsSchema, type HostOptions, type InstanceInfo } from './protocol.js';
import { toStartRequest } from './start-request.js';

export interface WasmDriverOptions {
  /**
   * How to start the host process and its worker threads: `process.execPath script ...args __wasm-host …` and
   * `new Worker(script, { argv: [...args, '__wasm-worker'] })`; `script` must call wasmEntry(). Default: this
   * package's compiled dist/entry.js (run `tsc -b` first).
   */
  entry?: { script: string; args: readonly string[] };
  /** Time limit of one request, unless the instance sets REQUEST_TIMEOUT_MS in its env. Default 30 s. */
  requestTimeoutMs?: number;
  /** Worker threads the host may run at once, over all instances (applies when this driver starts the host). Default 16. */
  maxWorkers?: number;
  /** Requests one instance may run at once; more wait. Keeps one app from taking every worker. Default 4. */
  maxConcurrentPerInstance?: number;
  /** The host exits after this long with no instance at all (0: never). Default 60 s. */
  hostIdleExitMs?: number;
}

const DEFAULT_ENTRY_SCRIPT = fileURLToPath(new URL('../dist/entry.js', import.meta.url));

function fail(
  code: ConstructorParameters<typeof DriverError>[1],
  message: string,
  cause?: unknown,
): DriverError {
  return new DriverError(DRIVER_NAME, code, message, cause === undefined ? {} : { cause });
}

const isGone = (e: unknown): boolean =>
  e instanceof HostUnavailableError || (e instanceof DriverError && e.code === 'INSTANCE_NOT_FOUND');

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Runs WASI preview1 modules as WAGI-style HTTP functions in one detached host process per node (ADR: wasm
 * runtime). Each instance is a listener on spec.network.ip:PORT; each request runs a fresh module instance on a
 * worker thread. The driver itself holds no state: everything lives in the host, found through the state dir.
 */
export class WasmDriver implements RuntimeDriver {
  readonly name = DRIVER_NAME;
  readonly capabilities: DriverCapabilities = {
    signals: false,
    exec: false,
    // A module sees no host file at all, only the volumes it declares (WASI preopens): a chroot of nothing.
    fsIsolation: 'chroot',
    networkModes: ['host'],
    mustCreateNetwork: false,
  };
  private readonly entry: { script: string; args: readonly string[] };
  private readonly requestTimeoutMs: number;
  private readonly maxWorkers: number;
  private readonly maxConcurrentPerInstance: number;
  private readonly hostIdleExitMs: number;

  constructor(opts: WasmDriverOptions = {}) {
    this.entry = opts.entry ?? { script: DEFAULT_ENTRY_SCRIPT, args: [] };
    this.requestTimeoutMs = positive('requestTimeoutMs', opts.requestTimeoutMs ?? 30_000);
    this.maxWorkers = positive('maxWorkers', opts.maxWorkers ?? 16);
    this.maxConcurrentPerInstance = positive('maxConcurrentPerInstance', opts.maxConcurrentPerInstance ?? 4);
    this.hostIdleExitMs = opts.hostIdleExitMs ?? 60_000;
    if (!Number.isInteger(this.hostIdleExitMs) || this.hostIdleExitMs < 0)
      throw new TypeError(
        `WasmDriver: hostIdleExitMs must be a whole number ≥ 0, got ${this.hostIdleExitMs}`,
      );
  }

  fingerprint(): Promise<DriverFingerprint> {
    return this.doFingerprint();
  }

  private async doFingerprint(): Promise<DriverFingerprint> {
    const major = Number(process.versions.node.split('.')[0]);
    if (!(major >= 20))
      return {
        usable: false,
        reason: `Node ${process.versions.node} is too old for node:wasi preview1; use Node 20 or later`,
      };
    if (typeof WebAssembly !== 'object')
      return { usable: false, reason: 'this Node build has no WebAssembly support' };
    if (!(await exists(this.entry.script)))
      return {
        usable: false,
        reason: `the wasm host entry ${this.entry.script} does not exist; build the package (tsc -b) or pass entry`,
      };
    return {
      usable: true,
      version: `node-${process.versions.node}+wasi-preview1`,
      attributes: {
        'wasm.node': process.versions.node,
        'wasm.wasi': 'preview1',
        'wasm.v8': process.versions.v8,
      },
    };
  }

  private hostOptions(stateDir: string): HostOptions {
    return {
      stateDir,
      maxWorkers: this.maxWorkers,
      maxConcurrentPerInstance: this.maxConcurrentPerInstance,
      idleExitMs: this.hostIdleExitMs,
      entryScript: this.entry.script,
      entryArgs: [...this.entry.args],
    };
  }

  async start(input: InstanceSpec): Promise<InstanceHandle> {
    const parsed = instanceSpecSchema.safeParse(input);
    // zod's message names fields and expectations, not received values, so secrets stay out of it.
    if (!parsed.success) throw fail('INVALID_SPEC', `invalid instance spec: ${parsed.error.message}`);
    const spec = parsed.data;
    const req = toStartRequest(spec, this.requestTimeoutMs);
    await mkdir(spec.logDir, { recursive: true });
    const state: WasmDriverState = { stateDir: spec.stateDir, logPath: req.logPath, startedAt: '' };
    // Straight to the host when it is up (one round trip); start one when it is not, or is going away, and retry.
    let client = hostClient(spec.stateDir);
    for (let attempt = 0; ; attempt++) {
      try {
        const info = await client.call('POST', '/instances', instanceInfoSchema, req);
        state.startedAt = info.startedAt;
        return makeHandle(spec.instanceId, state);
      } catch (e) {
        if (e instanceof HostUnavailableError && attempt < 2) {
          client = await ensureHost(this.hostOptions(spec.stateDir));
          continue;
        }
        if (e instanceof DriverError) throw e;
        throw fail('START_FAILED', `could not start ${spec.instanceId}: ${(e as Error).message}`, e);
      }
    }
  }

  /** The host's view of the instance, or null when neither the host nor the instance is there any more. */
  private async info(handle: InstanceHandle, st: WasmDriverState): Promise<InstanceInfo | null> {
    try {
      return await hostClient(st.stateDir).call(
        'GET',
        `/instances/${encodeURIComponent(handle.instanceId)}`,
        instanceInfoSchema,
      );
    } catch (e) {
      if (isGone(e)) return null;
      throw e;
    }
  }

  async stop(handle: InstanceHandle, opts: StopOptions): Promise<void> {
    const st = parseHandle(handle);
    try {
      await hostClient(st.stateDir).call(
        'POST',
        `/instances/${encodeURIComponent(handle.instanceId)}/stop`,
        instanceInfoSchema,
        {
          graceMs: Math.max(0, Math.round(opts.graceMs)),
        },
      );
    } catch (e) {
      if (isGone(e)) return; // nothing runs any more: stop is idempotent
      throw e;
    }
  }

  async destroy(handle: InstanceHandle): Promise<void> {
    const st = parseHandle(handle);
    try {
      await hostClient(st.stateDir).call(
        'DELETE',
        `/instances/${encodeURIComponent(handle.instanceId)}`,
        instanceInfoSchema.pick({}),
      );
    } catch (e) {
      if (!isGone(e)) throw e;
    }
    await rm(st.logPath, { force: true });
    await rm(`${st.logPath}.1`, { force: true });
  }

  async inspect(handle: InstanceHandle): Promise<InstanceStatus> {
    const st = parseHandle(handle);
    const info = await this.info(handle, st);
    if (info === null) {
      // The host lost it (killed or restarted): it is not running, and its log says it existed until destroy.
      if (await exists(st.logPath))
        return {
          state: 'exited',
          exitCode: null,
          pid: null,
          startedAt: new Date(st.startedAt),
          finishedAt: null,
        };
      return { state: 'unknown', exitCode: null, pid: null, startedAt: null, finishedAt: null };
    }
    return {
      state: info.state,
      exitCode: info.exitCode,
      pid: info.state === 'running' ? info.pid : null,
      startedAt: new Date(info.startedAt),
      finishedAt: info.finishedAt === null ? null : new Date(info.finishedAt),
    };
  }

  async recover(handle: InstanceHandle): Promise<boolean> {
    const info = await this.info(handle, parseHandle(handle));
    return info?.state === 'running';
  }

  async stats(handle: InstanceHandle): Promise<InstanceStats> {
    const st = parseHandle(handle);
    try {
      return await hostClient(st.stateDir).call(
        'GET',
        `/instances/${encodeURIComponent(handle.instanceId)}/stats`,
        instanceStatsSchema,
      );
    } catch (e) {
      if (isGone(e))
        throw fail(
          'INSTANCE_NOT_FOUND',
          `instance ${handle.instanceId} is not in the wasm host: is it running?`,
        );
      throw e;
    }
  }

  logs(handle: InstanceHandle, opts: LogOptions): AsyncIterable<LogLine> {
    return readLogLines(parseHandle(handle).logPath, opts);
  }
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new TypeError(`WasmDriver: ${name} must be a positive whole number, got ${v}`);
  return v;
}
