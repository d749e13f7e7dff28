import type {} from './webassembly-types.js';
import { openSync } from 'node:fs';
import type { WASI } from 'node:wasi';
import { parentPort } from 'node:worker_threads';

/** One request for a worker thread: run the module's `_start` once, in a fresh instance. */
export interface RunJob {
  module: WebAssembly.Module;
  /** Identifies `module` (digest and memory cap), so a worker can prepare the next instance of it in advance. */
  moduleKey: string;
  env: Record<string, string>;
  stdin: Uint8Array;
  /** Guest directory → host directory; empty means the module sees no filesystem at all. */
  preopens: Record<string, string>;
  maxStdoutBytes: number;
  maxStderrBytes: number;
}

export interface RunResult {
  stdout: Uint8Array;
  stderr: string;
  /** The module's exit status; null when it trapped. */
  exitCode: number | null;
  /** The trap's message (or the error that stopped the instance); null on a normal exit. */
  trap: string | null;
  /** Size of the instance's linear memory when it ended. */
  memoryBytes: number;
}

// WASI preview1 errno values used below.
const ERRNO_SUCCESS = 0;
const ERRNO_FAULT = 21;
const ERRNO_FBIG = 22;
const ERRNO_NOTSUP = 58;

type WasiFn = (...args: (number | bigint)[]) => number;
type WasiCtor = typeof WASI;

/** What the import overrides read and write while one request runs. */
interface RequestIo {
  job: RunJob;
  env: Uint8Array[];
  out: Uint8Array[];
  outBytes: number;
  err: string;
  stdinAt: number;
}

/**
 * A module instance created but not yet started, with its own WASI context. Every request gets one that has never
 * run; creating it (new WASI, instantiation) takes most of a request's time, so the worker makes the next one right
 * after answering, while it would otherwise sit idle.
 */
interface Prepared {
  key: string;
  wasi: WASI;
  instance: WebAssembly.Instance;
  memory: WebAssembly.Memory | undefined;
  base: Record<string, WasiFn>;
  preopenCount: number;
  opened: number;
  io: RequestIo | null;
}

const encoder = new TextEncoder();

function keyOf(job: RunJob): string {
  return `${job.moduleKey} ${JSON.stringify(job.preopens)}`;
}

/**
 * Creates the instance and its WASI context. node:wasi only takes real file descriptors for stdio, and its env is
 * fixed at construction, so stdin, stdout, stderr and the environment are served by the overrides below instead
 * (the hand-written part): fd_read on 0 and fd_write on 1 and 2 copy between the module's memory and buffers, and
 * environ_* write the request's variables. The real fds behind 0-2 are /dev/null, and closing or renumbering them is
 * refused, so a module can never make them point at another file.
 */
function prepare(wasiCtor: WasiCtor, devNull: number, job: RunJob): Prepared {
  const wasi = new wasiCtor({
    version: 'preview1',
    args: ['module.wasm'],
    env: {},
    preopens: job.preopens,
    returnOnExit: true,
    stdin: devNull,
    stdout: devNull,
    stderr: devNull,
  });
  const base = wasi.wasiImport as Record<string, WasiFn>;
  const p: Prepared = {
    key: keyOf(job),
    wasi,
    instance: undefined as unknown as WebAssembly.Instance,
    memory: undefined,
    base,
    preopenCount: Object.keys(job.preopens).length,
    opened: 0,
    io: null,
  };
  const io = (): RequestIo => {
    if (p.io === null) throw new Error('no request is running');
    return p.io;
  };
  const views = (): { view: DataView; bytes: Uint8Array } => {
    if (p.memory === undefined) throw new Error('module has no exported memory');
    return { view: new DataView(p.memory.buffer), bytes: new Uint8Array(p.memory.buffer) };
  };
  const iovecs = (view: DataView, size: number, ptr: number, count: number): [number, number][] => {
    const list: [number, number][] = [];
    for (let i = 0; i < count; i++) {
      const at = view.getUint32(ptr + i * 8, true);
      const len = view.getUint32(ptr + i * 8 + 4, true);
      if (at + len > size) throw new RangeError('iovec out of bounds');
      list.push([at, len]);
    }
    return list;
  };

  const overrides: Record<string, WasiFn> = {
    environ_sizes_get(countPtr, sizePtr) {
      try {
        const { view } = views();
        const env = io().env;
        view.setUint32(Number(countPtr), env.length, true);
        view.setUint32(
          Number(sizePtr),
          env.reduce((n, e) => n + e.length, 0),
          true,
        );
        return ERRNO_SUCCESS;
      } catch {
        return ERRNO_FAULT;
      }
    },
    environ_get(environPtr, bufPtr) {
      try {
        const { view, bytes } = views();
        let at = Number(bufPtr);
        io().env.forEach((e, i) => {
          view.setUint32(Number(environPtr) + i * 4, at, true);
          if (at + e.length > bytes.length) throw new RangeError('environ buffer out of bounds');
          bytes.set(e, at);
          at += e.length;
        });
        return ERRNO_SUCCESS;
      } catch {
        return ERRNO_FAULT;
      }
    },
    fd_write(fd, iovs, count, nwritten) {
      if (fd !== 1 && fd !== 2) return callBase(base, 'fd_write', [fd, iovs, count, nwritten]);
      try {
        const r = io();
        const { view, bytes } = views();
        let total = 0;
        for (const [at, len] of iovecs(view, bytes.length, Number(iovs), Number(count))) {
          if (fd === 1) {
            if (r.outBytes + len > r.job.maxStdoutBytes) return ERRNO_FBIG;
            r.out.push(bytes.slice(at, at + len));
            r.outBytes += len;
          } else if (r.err.length < r.job.maxStderrBytes) {
            r.err += Buffer.from(bytes.buffer, at, len).toString('utf8');
          }
          total += len;
        }
        view.setUint32(Number(nwritten), total, true);
        return ERRNO_SUCCESS;
      } catch {
        return ERRNO_FAULT;
      }
    },
    fd_read(fd, iovs, count, nread) {
      if (fd !== 0) return callBase(base, 'fd_read', [fd, iovs, count, nread]);
      try {
        const r = io();
        const { view, bytes } = views();
        let total = 0;
        for (const [at, len] of iovecs(view, bytes.length, Number(iovs), Number(count))) {
          const n = Math.min(len, r.job.stdin.length - r.stdinAt);
          bytes.set(r.job.stdin.subarray(r.stdinAt, r.stdinAt + n), at);
          r.stdinAt += n;
          total += n;
        }
        view.setUint32(Number(nread), total, true);
        return ERRNO_SUCCESS;
      } catch {
        return ERRNO_FAULT;
      }
    },
    path_open(...args) {
      const errno = callBase(base, 'path_open', args);
      if (errno === ERRNO_SUCCESS) p.opened++;
      return errno;
    },
    fd_close(fd) {
      return Number(fd) <= 2 ? ERRNO_SUCCESS : callBase(base, 'fd_close', [fd]);
    },
    fd_renumber(from, to) {
      return Number(from) <= 2 || Number(to) <= 2 ? ERRNO_NOTSUP : callBase(base, 'fd_renumber', [from, to]);
    },
  };
  p.instance = new WebAssembly.Instance(job.module, { wasi_snapshot_preview1: { ...base, ...overrides } });
  const mem = p.instance.exports.memory;
  if (mem instanceof WebAssembly.Memory) p.memory = mem;
  return p;
}

/** Runs a prepared instance once for `job` and closes its descriptors; the instance must not be used again. */
function runPrepared(p: Prepared, job: RunJob): RunResult {
  const io: RequestIo = {
    job,
    env: Object.entries(job.env).map(([k, v]) => encoder.encode(`${k}=${v}\0`)),
    out: [],
    outBytes: 0,
    err: '',
    stdinAt: 0,
  };
  p.io = io;
  let exitCode: number | null = null;
  let trap: string | null = null;
  try {
    const code = p.wasi.start(p.instance);
    exitCode = typeof code === 'number' ? code : 0;
  } catch (e) {
    trap =
      e instanceof WebAssembly.RuntimeError
        ? e.message
        : e instanceof Error
          ? `${e.name}: ${e.message}`
          : String(e);
  } finally {
    p.io = null;
    release(p);
  }
  const stdout = new Uint8Array(io.outBytes);
  let at = 0;
  for (const c of io.out) {
    stdout.set(c, at);
    at += c.length;
  }
  return { stdout, stderr: io.err, exitCode, trap, memoryBytes: p.memory?.buffer.byteLength ?? 0 };
}

/**
 * node:wasi never closes the directories it opens for preopens, nor files the module left open, until the WASI
 * object is garbage-collected, which may be never in a quiet worker: one leaked descriptor per request. Guest fds
 * are allocated densely from 3, so closing 3 .. 3 + preopens + opens covers every descriptor this instance holds.
 */
function release(p: Prepared): void {
  for (let fd = 3; fd < 3 + p.preopenCount + p.opened; fd++) callBase(p.base, 'fd_close', [fd]);
}

function callBase(base: Record<string, WasiFn>, name: string, args: (number | bigint)[]): number {
  const fn = base[name];
  if (fn === undefined) return ERRNO_NOTSUP;
  return fn(...args);
}

/** The worker thread's main: answers each RunJob message with a RunResult. */
export async function runWorker(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('__wasm-worker must run in a worker thread');
  const wasi = await import('node:wasi');
  // Behind stdio 0-2 of every instance; never read or written, because those fds are served from buffers above.
  const devNull = openSync('/dev/null', 'r+');
  let next: Prepared | null = null;
  port.on('message', (job: RunJob) => {
    let p = next;
    next = null;
    if (p === null || p.key !== keyOf(job)) {
      // A prepared instance has no preopens and never ran, so there is nothing to close: just drop it.
      try {
        p = prepare(wasi.WASI, devNull, job);
      } catch (e) {
        const trap = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        port.postMessage({ stdout: new Uint8Array(0), stderr: '', exitCode: null, trap, memoryBytes: 0 });
        return;
      }
    }
    const result = runPrepared(p, job);
    port.postMessage(result, [result.stdout.buffer as ArrayBuffer]);
    // After answering: the next request for this module (the common case on a busy app) finds its instance ready.
    // Not with volumes: an instance that never starts could not close its preopened directories (node:wasi refuses
    // every call before start()), so those are opened per request instead.
    if (Object.keys(job.preopens).length > 0) return;
    setImmediate(() => {
      if (next !== null) return;
      try {
        next = prepare(wasi.WASI, devNull, job);
      } catch {
        next = null;
      }
    });
  });
  port.postMessage('ready');
}
