import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EdgeRouteTable } from '@shellwego/core';
import { freePort, makeTempDir, onExitCleanup, removeDir } from '@shellwego/testkit';

/** The shipped `shellwego` bundle: the edge as operators run it (`npx tsc -b && node scripts/bundle.mjs`). */
const CLI_ENTRY = fileURLToPath(new URL('../../cli/dist/shellwego.mjs', import.meta.url));

export interface EdgeProcess {
  /** The primary's pid: what an operator signals. */
  readonly pid: number;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly metricsPort: number;
  readonly dataDir: string;
  /** The worker serving now, as the primary last reported it on stderr. */
  servingWorker(): Promise<number | undefined>;
  /** Waits until a worker other than those in `not` serves, and returns its pid. */
  waitForWorker(not: readonly number[], timeoutMs?: number): Promise<number>;
  /** The primary's live child processes (its workers, draining ones included). */
  workers(): Promise<number[]>;
  stderr(): Promise<string>;
  /** SIGTERM (SIGKILL after 20 s); resolves with how the primary ended. Safe to call twice. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartEdgeProcessOptions {
  /** The control plane; default a closed port (the edge then serves what its state dir holds). */
  api?: string;
  token?: string;
  /** Written to <data dir>/edge/routes.json before the start, as a previous run would have left it. */
  routes?: EdgeRouteTable;
  httpPort?: number;
  httpsPort?: number;
  env?: Record<string, string>;
  logLevel?: string;
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `shellwego edge` (the built bundle) on free ports with a temp data dir; stop() it in `finally`. */
export async function startEdgeProcess(options: StartEdgeProcessOptions = {}): Promise<EdgeProcess> {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run \`node scripts/bundle.mjs\``);
  const dataDir = await makeTempDir('swg-edge-proc-');
  const httpPort = options.httpPort ?? (await freePort());
  const httpsPort = options.httpsPort ?? (await freePort());
  const metricsPort = await freePort();
  const api = options.api ?? `http://127.0.0.1:${await freePort()}`;
  if (options.routes !== undefined) {
    await mkdir(join(dataDir, 'edge'), { recursive: true });
    await writeFile(join(dataDir, 'edge', 'routes.json'), JSON.stringify(options.routes));
  }
  const stderrPath = join(dataDir, 'stderr');
  // Files, never pipes (TESTING.md): the workers inherit them.
  const out = openSync(join(dataDir, 'stdout'), 'w');
  const err = openSync(stderrPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [
        CLI_ENTRY,
        'edge',
        '--api',
        api,
        '--data-dir',
        dataDir,
        '--host',
        '127.0.0.1',
        '--http-port',
        String(httpPort),
        '--https-port',
        String(httpsPort),
        '--metrics-port',
        String(metricsPort),
        '--log-level',
        options.logLevel ?? 'warn',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          LANG: 'C.UTF-8',
          HOME: dataDir,
          SHELLWEGO_EDGE_TOKEN: options.token ?? 'swg_test-edge-without-control-plane',
          ...options.env,
        },
        stdio: ['ignore', out, err],
      },
    );
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const pid = child.pid ?? -1;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve((exit = { code, signal })));
  });
  // The primary's SIGTERM drains its workers; a worker also exits when its primary is gone.
  const forget = onExitCleanup(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  const stderr = () => readFile(stderrPath, 'utf8').catch(() => '');
  const servingWorker = async (): Promise<number | undefined> => {
    const lines = [...(await stderr()).matchAll(/edge worker (\d+) serving|\(worker (\d+);/g)];
    const last = lines.at(-1);
    return last === undefined ? undefined : Number(last[1] ?? last[2]);
  };
  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const edge: EdgeProcess = {
    pid,
    httpPort,
    httpsPort,
    metricsPort,
    dataDir,
    servingWorker,
    waitForWorker: (not, timeoutMs = 30_000) =>
      until(
        'a new edge worker to serve',
        async () => {
          const worker = await servingWorker();
          return worker !== undefined && !not.includes(worker) ? worker : undefined;
        },
        timeoutMs,
      ),
    workers: async () => {
      const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      return text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number);
    },
    stderr,
    stop: () =>
      (stopping ??= (async () => {
        if (exit === undefined) {
          child.kill('SIGTERM');
          const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
          await exited.finally(() => clearTimeout(kill));
        }
        forget();
        await removeDir(dataDir);
        return exited;
      })()),
  };
  try {
    await until(
      'the edge to serve',
      async () => {
        if (exit !== undefined)
          throw new Error(`the edge exited: ${JSON.stringify(exit)}\n${await stderr()}`);
        return (await servingWorker()) === undefined ? undefined : true;
      },
      60_000,
    );
  } catch (error) {
    const log = await stderr();
    await edge.stop();
    throw new Error(`${String(error)}\nedge stderr:\n${log}`, { cause: error });
  }
  return edge;
}

/** One request's outcome in a load loop. */
export interface LoadCounts {
  ok: number;
  /** Failed requests: status and body start, or the error. */
  failed: string[];
}

/**
 * `clients` keep-alive loops of GETs with `host`, through one node:http Agent, until stopped: a client that meets
 * `Connection: close` opens a new connection for its next request, as browsers and HTTP libraries do.
 */
export function loadLoop(port: number, host: string, clients = 4) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const counts: LoadCounts = { ok: 0, failed: [] };
  let isRunning = true;
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 10_000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => {
            if (res.statusCode === 200) counts.ok++;
            else counts.failed.push(`${res.statusCode ?? 0} ${body.slice(0, 80)}`);
            resolve();
          });
          res.on('error', (e) => {
            counts.failed.push(`response: ${e.message}`);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e: NodeJS.ErrnoException) => {
        counts.failed.push(`${e.code ?? ''} ${e.message}`);
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: clients }, async () => {
    while (isRunning) await once();
  });
  return {
    counts,
    /** Resolves once `n` more requests succeeded than when called. */
    more: (n: number, timeoutMs = 30_000) => {
      const target = counts.ok + n;
      return until(
        `${n} more requests through the edge`,
        () => (counts.ok >= target ? true : undefined),
        timeoutMs,
      );
    },
    stop: async (): Promise<LoadCounts> => {
      isRunning = false;
      await Promise.all(loops);
      agent.destroy();
      return counts;
    },
  };
}
