import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants, rmSync } from 'node:fs';
import { access, chmod, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDatabaseAt } from './databases.js';
import { onExitCleanup } from './exit-cleanup.js';
import { freePort } from './ports.js';
import { stopChild, terminateSync } from './processes.js';
import { makeTempDir, removeDir } from './temp.js';

const execFileAsync = promisify(execFile);

/** Debian does not put the PostgreSQL binaries on PATH. */
const DEFAULT_BIN_DIR = '/usr/lib/postgresql/15/bin';
const READY_LINE = 'database system is ready to accept connections';
const STDERR_TAIL_CHARS = 4000;
const STOP_GRACE_MS = 5000;
const BIND_ATTEMPTS = 3;

/** A throwaway PostgreSQL cluster on 127.0.0.1, superuser `postgres`, trust authentication. */
export interface PostgresServer {
  host: string;
  port: number;
  /** Directory holding the cluster; stop() removes it. */
  dir: string;
  /** postgres:// URL of `database` (default: the `postgres` database). */
  url(database?: string): string;
  /** Creates a database (random name by default) and returns its postgres:// URL. */
  createDatabase(name?: string): Promise<string>;
  /** Fast shutdown (SIGINT), SIGKILL after 5 s, then removes the directory. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Where initdb and postgres live. */
  binDir?: string;
  readyTimeoutMs?: number;
}

interface Owner {
  uid: number;
  gid: number;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const binDir = options.binDir ?? DEFAULT_BIN_DIR;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  await assertInstalled(binDir);
  const owner = await clusterOwner();

  const dir = await makeTempDir('testkit-pg-');
  const forgetDir = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // mkdtemp makes a root-only 0700 directory; initdb running as `postgres` must traverse and write it.
    await chmod(dir, 0o755);
    if (owner) await chown(dir, owner.uid, owner.gid);
    const dataDir = join(dir, 'data');
    // Only PATH and LANG: PG* variables would silently override the configuration.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
    const spawnOptions = { cwd: dir, env, ...owner };
    await initdb(binDir, dataDir, spawnOptions);

    let postmaster: Postmaster | undefined;
    for (let attempt = 1; postmaster === undefined; attempt++) {
      const port = await freePort();
      try {
        postmaster = await startPostmaster(binDir, dataDir, port, spawnOptions, readyTimeoutMs);
      } catch (error) {
        // freePort() is racy: another process may bind the port before postgres does. Retry with a new one.
        if (!(error instanceof PortTakenError) || attempt >= BIND_ATTEMPTS) throw error;
      }
    }
    return serverFor(postmaster, dir, forgetDir);
  } catch (error) {
    await removeDir(dir);
    forgetDir();
    throw error;
  }
}

async function assertInstalled(binDir: string): Promise<void> {
  try {
    await access(join(binDir, 'initdb'), constants.X_OK);
  } catch {
    throw new Error(
      `PostgreSQL is not installed: ${join(binDir, 'initdb')} is missing. ` +
        'The setup script (.ci/run) must `apt-get install -y postgresql` (PostgreSQL 15); tests do not skip without it.',
    );
  }
}

/** initdb refuses to run as root, so as root we run the cluster as the `postgres` user the package creates. */
async function clusterOwner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error(
      'The `postgres` system user is missing. The setup script (.ci/run) must `apt-get install -y postgresql`.',
    );
  }
}

interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

async function initdb(binDir: string, dataDir: string, options: SpawnOptions): Promise<void> {
  const args = ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C'];
  // --no-sync: the cluster is thrown away, crash safety buys nothing.
  args.push('--no-sync', '--no-instructions');
  try {
    await execFileAsync(join(binDir, 'initdb'), args, options);
  } catch (error) {
    const output = error instanceof Error && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`initdb failed for ${dataDir}: ${errorMessage(error)}\n${tail(output)}`, {
      cause: error,
    });
  }
}

interface Postmaster {
  child: ChildProcess & { pid: number };
  port: number;
}

class PortTakenError extends Error {}

async function startPostmaster(
  binDir: string,
  dataDir: string,
  port: number,
  options: SpawnOptions,
  readyTimeoutMs: number,
): Promise<Postmaster> {
  const args = ['-D', dataDir, '-p', String(port)];
  // TCP only: no socket file, so no 107-byte socket path limit.
  args.push('-k', '', '-c', 'listen_addresses=127.0.0.1');
  // Throwaway data: trade crash safety for speed.
  args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  // Parallel test workers each hold pools; the default 100 is tight.
  args.push('-c', 'max_connections=200');
  // stderr is a pipe only to spot the ready line; it is drained for the life of the process (see below).
  const child = spawn(join(binDir, 'postgres'), args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });

  let stderr = '';
  const stderrTail = (): string => tail(stderr);
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`PostgreSQL was not ready within ${readyTimeoutMs} ms on port ${port}`)),
      readyTimeoutMs,
    );
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      // Keep a bounded tail for error messages; keep reading forever so postgres never blocks on a full pipe.
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
      if (stderr.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close' rather than 'exit': it comes after stderr is fully read, so the bind error is in `stderr` by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const why = `PostgreSQL exited before it was ready (code ${code}, signal ${signal}) on port ${port}`;
      reject(stderr.includes('Address already in use') ? new PortTakenError(why) : new Error(why));
    });
  });

  try {
    await ready;
  } catch (error) {
    await stopChild(child, 'SIGKILL', STOP_GRACE_MS);
    const message = `${errorMessage(error)}\npostgres stderr (tail):\n${stderrTail()}`;
    throw error instanceof PortTakenError
      ? new PortTakenError(message)
      : new Error(message, { cause: error });
  }
  if (child.pid === undefined) throw new Error('PostgreSQL reported ready but has no pid');
  return { child: child as ChildProcess & { pid: number }, port };
}

function serverFor(postmaster: Postmaster, dir: string, forgetDir: () => void): PostgresServer {
  const { child, port } = postmaster;
  const host = '127.0.0.1';
  const forgetProcess = onExitCleanup(() => {
    // SIGQUIT is immediate shutdown: postgres still stops its children and frees shared memory, unlike SIGKILL.
    terminateSync(child.pid, 'SIGQUIT', 2000);
  });
  const url = (database = 'postgres'): string =>
    `postgres://postgres@${host}:${port}/${encodeURIComponent(database)}`;

  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    dir,
    url,
    createDatabase: (name) => createDatabaseAt(url('postgres'), name),
    stop: () => {
      stopping ??= (async () => {
        // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, no waiting for them to finish.
        await stopChild(child, 'SIGINT', STOP_GRACE_MS);
        forgetProcess();
        await removeDir(dir);
        forgetDir();
      })();
      return stopping;
    },
  };
}

function tail(text: string): string {
  return text.slice(-STDERR_TAIL_CHARS).trimEnd();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
