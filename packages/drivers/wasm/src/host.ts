import { readFile, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { z } from 'zod';
import { HostOpError } from './host-error.js';
import { hostPaths } from './host-paths.js';
import { HostedInstance } from './instance.js';
import { ModuleCache } from './module-cache.js';
import { parseHostArgs } from './host-options.js';
import { startRequestSchema, stopRequestSchema, type ErrorBody, type HostHealth } from './protocol.js';
import { WorkerPool } from './worker-pool.js';

const MAX_CONTROL_BODY = 1024 * 1024;

function logHost(message: string): void {
  // The host's own log (wasm-host.log): lifecycle and bugs only, never request data, env or secrets.
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

function isLive(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY) throw new HostOpError('INVALID_SPEC', 'request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HostOpError('INVALID_SPEC', 'request body is not JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  // zod's issues name paths and expectations, never the received values, so secrets can't leak into the message.
  if (!r.success)
    throw new HostOpError(
      'INVALID_SPEC',
      `invalid ${what}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/**
 * The per-node WASM host: one detached process per driver state dir that serves every wasm instance of the node.
 * The driver controls it over HTTP on a Unix socket (0600). It outlives agent restarts, and a module can at worst
 * take down this process, never the agent. It exits on SIGTERM, or after `idleExitMs` with no instance at all.
 */
export async function runHost(argv: readonly string[]): Promise<void> {
  const opts = parseHostArgs(argv);
  const paths = hostPaths(opts.stateDir);
  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  if (await isLive(paths.socket)) {
    logHost(`another host already serves ${paths.socket}; exiting`);
    return;
  }
  // Claim the pid file before the socket: a host still shutting down removes the socket only while the pid file
  // names it, so it cannot unlink ours.
  await writeFile(paths.pidFile, `${process.pid}\n`);
  await rm(paths.socket, { force: true });

  const { WASI } = await import('node:wasi');
  const names = new Set(Object.keys(new WASI({ version: 'preview1' }).wasiImport));
  const cache = new ModuleCache(names);
  const pool = new WorkerPool({
    script: opts.entryScript,
    args: opts.entryArgs,
    max: opts.maxWorkers,
    minIdle: 1,
  });
  const instances = new Map<string, HostedInstance>();
  let idleTimer: NodeJS.Timeout | undefined;
  let closing = false;

  const armIdleExit = (): void => {
    clearTimeout(idleTimer);
    if (instances.size === 0 && opts.idleExitMs > 0)
      idleTimer = setTimeout(() => void shutdown('idle'), opts.idleExitMs);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://host');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    // 503 tells the driver to wait for this process to go and start a fresh host.
    if (closing)
      return send(res, 503, { code: 'RUNTIME_FAILED', message: 'the wasm host is shutting down; retry' });
    if (parts[0] === 'health' && parts.length === 1 && method === 'GET') {
      const h: HostHealth = { pid: process.pid, instances: instances.size, workers: pool.size };
      return send(res, 200, h);
    }
    if (parts[0] !== 'instances')
      throw new HostOpError('INSTANCE_NOT_FOUND', `no route ${method} ${url.pathname}`);
    if (parts.length === 1 && method === 'GET')
      return send(res, 200, { instances: [...instances.values()].map((i) => i.info(process.pid)) });
    if (parts.length === 1 && method === 'POST') {
      const cfg = parse(startRequestSchema, await readJson(req), 'start request');
      const existing = instances.get(cfg.id);
      if (existing?.info(process.pid).state === 'running')
        throw new HostOpError('START_FAILED', `instance ${cfg.id} is already running; stop it first`);
      clearTimeout(idleTimer);
      const inst = await HostedInstance.start(cfg, cache, pool, opts.maxConcurrentPerInstance).catch(
        (e: unknown) => {
          armIdleExit();
          throw e;
        },
      );
      instances.set(cfg.id, inst);
      return send(res, 201, inst.info(process.pid));
    }
    const id = decodeURIComponent(parts[1] ?? '');
    const inst = instances.get(id);
    if (inst === undefined) throw new HostOpError('INSTANCE_NOT_FOUND', `no instance ${id} in this host`);
    if (parts.length === 2 && method === 'GET') return send(res, 200, inst.info(process.pid));
    if (parts.length === 2 && method === 'DELETE') {
      await inst.stop(0);
      instances.delete(id);
      armIdleExit();
      return send(res, 200, {});
    }
    if (parts.length === 3 && parts[2] === 'stats' && method === 'GET') return send(res, 200, inst.stats());
    if (parts.length === 3 && parts[2] === 'stop' && method === 'POST') {
      const { graceMs } = parse(stopRequestSchema, await readJson(req), 'stop request');
      await inst.stop(graceMs);
      return send(res, 200, inst.info(process.pid));
    }
    throw new HostOpError('INSTANCE_NOT_FOUND', `no route ${method} ${url.pathname}`);
  };

  const control = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!(e instanceof HostOpError)) logHost(`bug: ${(e as Error).stack ?? String(e)}`);
      const body: ErrorBody =
        e instanceof HostOpError
          ? { code: e.code, message: e.message }
          : { code: 'RUNTIME_FAILED', message: `wasm host failed: ${(e as Error).message}` };
      if (!res.headersSent)
        send(res, e instanceof HostOpError && e.code === 'INSTANCE_NOT_FOUND' ? 404 : 400, body);
    });
  });

  async function shutdown(why: string): Promise<void> {
    if (closing) return;
    closing = true;
    logHost(`shutting down (${why})`);
    control.close();
    await Promise.all([...instances.values()].map((i) => i.stop(0)));
    await pool.close();
    // Only remove the files if they are still ours (a newer host may have taken over the socket).
    const pid = await readFile(paths.pidFile, 'utf8').catch(() => '');
    if (pid.trim() === String(process.pid)) {
      await rm(paths.socket, { force: true });
      await rm(paths.pidFile, { force: true });
    }
    process.exit(0);
  }

  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('uncaughtException', (e) => logHost(`bug (uncaught): ${e.stack ?? e.message}`));

  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(paths.socket, () => resolve());
  });
  await chmod(paths.socket, 0o600);
  logHost(`wasm host ${process.pid} listening on ${paths.socket}`);
  armIdleExit();
}
