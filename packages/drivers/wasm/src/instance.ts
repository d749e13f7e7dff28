import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { cgiEnv, CgiResponseError, parseCgiResponse } from './cgi.js';
import { HostOpError } from './host-error.js';
import { InstanceLog } from './logs.js';
import { WASM_PAGE_BYTES } from './memory-limit.js';
import type { CachedModule, ModuleCache } from './module-cache.js';
import type { HostInstanceStats, InstanceInfo, StartRequest } from './protocol.js';
import { Semaphore } from './semaphore.js';
import type { RunOutcome, WorkerPool } from './worker-pool.js';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const MAX_STDERR_BYTES = 64 * 1024;
/** Exit status reported when stop had to cut in-flight requests, as if the instance had been SIGKILLed. */
const EXIT_CUT = 137;

/*
 * One deployed module behind its own HTTP listener, inside the host process:
 *
 *   start ──▶ running (listening; each request → fresh instance on a pool worker)
 *                │ stop(grace): stop accepting, drain up to grace, then cut what is left
 *                ▼
 *             exited (kept for inspect until the driver forgets it at destroy)
 */
export class HostedInstance {
  private state: 'running' | 'exited' = 'running';
  private exitCode: number | null = null;
  private readonly startedAt = new Date();
  private finishedAt: Date | null = null;
  private readonly inflight = new Set<AbortController>();
  private drained: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  private running = 0;
  private cpuNs = 0;
  private readonly slots: Semaphore;
  private readonly log: InstanceLog;
  private readonly server: Server;
  private readonly preopens: Record<string, string>;

  private constructor(
    private readonly cfg: StartRequest,
    private readonly mod: CachedModule,
    private readonly cache: ModuleCache,
    private readonly pool: WorkerPool,
    maxConcurrent: number,
  ) {
    this.slots = new Semaphore(maxConcurrent);
    this.log = new InstanceLog(cfg.logPath);
    this.preopens = Object.fromEntries(cfg.volumes.map((v) => [v.target, v.source]));
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** Compiles (or reuses) the module and starts listening; fails with a HostOpError naming what is wrong. */
  static async start(
    cfg: StartRequest,
    cache: ModuleCache,
    pool: WorkerPool,
    maxConcurrent: number,
  ): Promise<HostedInstance> {
    let mod: CachedModule;
    try {
      mod = await cache.acquire(cfg.module.path, cfg.module.digest, cfg.memoryLimitBytes);
    } catch (e) {
      throw new HostOpError('START_FAILED', (e as Error).message);
    }
    const inst = new HostedInstance(cfg, mod, cache, pool, maxConcurrent);
    try {
      await InstanceLog.rotateIfLarge(cfg.logPath);
      await new Promise<void>((resolve, reject) => {
        inst.server.once('error', reject);
        inst.server.listen({ host: cfg.listen.ip, port: cfg.listen.port }, () => {
          inst.server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      cache.release(mod);
      const err = e as NodeJS.ErrnoException;
      throw new HostOpError(
        'START_FAILED',
        `cannot listen on ${cfg.listen.ip}:${cfg.listen.port}: ${err.code ?? err.message}`,
      );
    }
    inst.server.on('error', (e) => inst.log.write('stderr', `wasm: listener error: ${e.message}`));
    inst.log.write('stdout', `wasm: listening on ${cfg.listen.ip}:${cfg.listen.port}`);
    return inst;
  }

  info(pid: number): InstanceInfo {
    return {
      id: this.cfg.id,
      state: this.state,
      pid,
      exitCode: this.exitCode,
      startedAt: this.startedAt.toISOString(),
      finishedAt: this.finishedAt?.toISOString() ?? null,
    };
  }

  /**
   * memoryBytes is an estimate: the module binary (the compiled code is shared per digest, so it is not counted
   * again) plus the initial linear memory of each request running now; idle instances hold no linear memory at all.
   * cpuUsageNs is the wall time spent running requests: a module run is CPU-bound, and Node 20 has no per-thread
   * CPU clock for worker threads.
   */
  stats(): HostInstanceStats {
    return {
      memoryBytes: this.mod.byteLength + this.running * this.mod.initialPages * WASM_PAGE_BYTES,
      memoryLimitBytes: this.cfg.memoryLimitBytes,
      cpuUsageNs: this.cpuNs,
    };
  }

  /** Stops accepting, lets in-flight requests finish for up to graceMs, then cuts them (their workers terminated). */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.server.close();
    this.server.closeIdleConnections();
    if (this.inflight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const cut = this.inflight.size > 0;
    for (const ac of this.inflight) ac.abort();
    // Let the cut requests write their 503 before the sockets go.
    await new Promise((r) => setImmediate(r));
    this.server.closeAllConnections();
    this.state = 'exited';
    this.exitCode = cut ? EXIT_CUT : 0;
    this.finishedAt = new Date();
    this.cache.release(this.mod);
    this.log.write(
      'stdout',
      cut ? `wasm: stopped; in-flight requests cut after ${graceMs} ms` : 'wasm: stopped',
    );
    await this.log.flush();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.stopping !== null) {
      res.writeHead(503, { connection: 'close' }).end();
      return;
    }
    const ac = new AbortController();
    this.inflight.add(ac);
    try {
      await this.serve(req, res, ac.signal);
    } catch (e) {
      this.log.write('stderr', `wasm: request failed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    } finally {
      this.inflight.delete(ac);
      if (this.inflight.size === 0) this.drained?.();
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === null) {
      res
        .writeHead(413, { connection: 'close', 'content-type': 'text/plain' })
        .end('request body too large\n');
      return;
    }
    const local = req.socket;
    const env = cgiEnv(
      {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        bodyLength: body.length,
        serverName: (req.headers.host ?? this.cfg.listen.ip).replace(/:\d+$/, ''),
        serverPort: local.localPort ?? this.cfg.listen.port,
        remoteAddr: local.remoteAddress ?? '',
      },
      this.cfg.env,
    );
    if (!(await this.slots.acquire(signal))) return void res.writeHead(503, { connection: 'close' }).end();
    this.running++;
    const t0 = process.hrtime.bigint();
    let outcome: RunOutcome;
    try {
      outcome = await this.pool.run(
        {
          module: this.mod.module,
          moduleKey: this.mod.key,
          env,
          stdin: body,
          preopens: this.preopens,
          maxStdoutBytes: MAX_RESPONSE_BYTES,
          maxStderrBytes: MAX_STDERR_BYTES,
        },
        this.cfg.timeoutMs,
        signal,
      );
    } finally {
      this.running--;
      this.cpuNs += Number(process.hrtime.bigint() - t0);
      this.slots.release();
    }
    switch (outcome.kind) {
      case 'timeout':
        this.log.write(
          'stderr',
          `wasm: request ran past its time limit of ${this.cfg.timeoutMs} ms and was stopped`,
        );
        return void res.writeHead(504, { 'content-type': 'text/plain' }).end('request timed out\n');
      case 'aborted':
        return void res.writeHead(503, { connection: 'close' }).end();
      case 'crashed':
        this.log.write('stderr', `wasm: ${outcome.message}`);
        return void res.writeHead(500).end();
      case 'done':
        break;
    }
    const r = outcome.result;
    if (r.stderr !== '') this.log.write('stderr', r.stderr);
    if (r.trap !== null) {
      this.log.write('stderr', `wasm: trap: ${r.trap}`);
      return void res.writeHead(500).end();
    }
    if (r.exitCode !== 0) {
      this.log.write('stderr', `wasm: module exited with status ${r.exitCode}`);
      return void res.writeHead(500).end();
    }
    try {
      const cgi = parseCgiResponse(r.stdout);
      res.writeHead(cgi.status, cgi.statusText, cgi.headers.flat());
      res.end(cgi.body);
    } catch (e) {
      if (!(e instanceof CgiResponseError) && !(e instanceof TypeError)) throw e;
      this.log.write('stderr', `wasm: invalid response: ${e.message}`);
      if (!res.headersSent) res.writeHead(500).end();
    }
  }
}

/** Past the cap, read and drop up to this much more so the client sees the 413 instead of a reset mid-upload. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/** The request body, or null when it exceeds `max` bytes (the rest is drained, or the socket closed if huge). */
async function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = declared > max;
  if (declared > max + MAX_DRAIN_BYTES) return null;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) tooLarge = true;
    if (size > max + MAX_DRAIN_BYTES) break;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? null : Buffer.concat(chunks, size);
}
