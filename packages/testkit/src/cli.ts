import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onExitCleanup } from './exit-cleanup.js';
import { terminateSync } from './processes.js';
import { makeTempDir, removeDir } from './temp.js';

// src/cli.ts and dist/cli.js both sit three levels below the repository root.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The shipped `shellwego` bundle; `npm run build` (which `npm test` runs first) makes it. */
export const CLI_ENTRY = join(REPO_ROOT, 'packages', 'cli', 'dist', 'shellwego.mjs');

export interface RunCliOptions {
  /** Added to a clean environment (PATH, LANG, HOME and XDG_CONFIG_HOME in a temp dir). An empty value unsets. */
  env?: Record<string, string>;
  /** Written to the CLI's stdin (which is otherwise /dev/null, i.e. not a terminal). */
  input?: string;
  cwd?: string;
  /** Default 30 s; a CLI still running then is killed and runCli rejects with its output. */
  timeoutMs?: number;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const KILL_GRACE_MS = 3000;

function assertBuilt(): void {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} does not exist: run \`npx tsc -b\` first`);
}

/**
 * Only what the CLI needs: an inherited SHELLWEGO_* or XDG_* variable would silently change what it does,
 * and a real HOME would read (and write) the developer's own saved session.
 */
function cleanEnv(dir: string, given: Record<string, string> = {}): Record<string, string> {
  const home = given.HOME ?? join(dir, 'home');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    TMPDIR: join(dir, 'tmp'),
    ...given,
  };
  for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
  return env;
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<ExitStatus>;
  stdoutPath: string;
  stderrPath: string;
}

/** Spawns node on the CLI with stdout and stderr in files (never pipes: see TESTING.md) and stdin from `input`. */
async function spawnCli(dir: string, args: readonly string[], opts: RunCliOptions): Promise<Spawned> {
  assertBuilt();
  const env = cleanEnv(dir, opts.env);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  if (opts.env?.HOME === undefined) await mkdir(env.HOME ?? join(dir, 'home'), { recursive: true });
  const stdoutPath = join(dir, 'stdout');
  const stderrPath = join(dir, 'stderr');
  const handles: FileHandle[] = [];
  try {
    const stdout = await open(stdoutPath, 'w');
    handles.push(stdout);
    const stderr = await open(stderrPath, 'w');
    handles.push(stderr);
    let stdin: number | 'ignore' = 'ignore';
    if (opts.input !== undefined) {
      await writeFile(join(dir, 'stdin'), opts.input);
      const h = await open(join(dir, 'stdin'), 'r');
      handles.push(h);
      stdin = h.fd;
    }
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd: opts.cwd ?? dir,
      env,
      stdio: [stdin, stdout.fd, stderr.fd],
    });
    const exited = new Promise<ExitStatus>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return { child, exited, stdoutPath, stderrPath };
  } finally {
    // The child holds its own copies of the descriptors.
    await Promise.all(handles.map((h) => h.close()));
  }
}

function exitCodeOf(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  return 128 + (status.signal === null ? 0 : constants.signals[status.signal]);
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** Runs `shellwego ...args` (the built binary) to completion. */
export async function runCli(args: readonly string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const dir = await makeTempDir('swg-cli-');
  const running: { pid?: number | undefined } = {};
  const forget = onExitCleanup(() => {
    if (running.pid !== undefined) terminateSync(running.pid, 'SIGKILL', 0);
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    const { child, exited, stdoutPath, stderrPath } = await spawnCli(dir, args, opts);
    running.pid = child.pid;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    }, timeoutMs);
    const status = await exited.finally(() => clearTimeout(timer));
    const result = {
      code: exitCodeOf(status),
      stdout: await readText(stdoutPath),
      stderr: await readText(stderrPath),
    };
    if (timedOut) {
      throw new Error(
        `shellwego ${args.join(' ')} still ran after ${timeoutMs} ms and was killed\n` +
          `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
    }
    return result;
  } finally {
    await removeDir(dir);
    forget();
  }
}

export interface StartShellwegoOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** How long to wait for GET /v1/health to answer 200; default 30 s. */
  timeoutMs?: number;
}

export interface ShellwegoProcess {
  /** The API's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  pid: number;
  /** The first admin's password, when this start printed one (the first start on a data dir). */
  password?: string;
  stdoutText(): Promise<string>;
  stderrText(): Promise<string>;
  /** Sends a signal; await `exited` for the outcome. */
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<ExitStatus>;
  /** SIGTERM, SIGKILL after `graceMs` (default 10 s); resolves with how it ended. Safe to call twice. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/** The URL from flags we were given, else from the banner's `API:` line once it is printed. */
function urlFrom(args: readonly string[], stdout: string): string | undefined {
  const port = flagValue(args, '--api-port');
  if (port !== undefined) {
    const host = flagValue(args, '--host') ?? '127.0.0.1';
    const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  }
  return /^\s*API:\s+(\S+)/m.exec(stdout)?.[1];
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

const BANNER_FIRST_LINE = 'ShellWeGo is up.';

/**
 * Starts a long-running `shellwego up` or `server` and resolves once its API answers and its banner is
 * printed. Always stop() it (in `finally`); an exit hook kills it if the test run dies first.
 */
export async function startShellwegoProcess(
  args: readonly string[],
  opts: StartShellwegoOptions = {},
): Promise<ShellwegoProcess> {
  const dir = await makeTempDir('swg-proc-');
  // Set once spawned; the exit hook may run before that.
  const running: { pid?: number | undefined } = {};
  const forget = onExitCleanup(() => {
    if (running.pid !== undefined) terminateSync(running.pid, 'SIGTERM', 2000);
    rmSync(dir, { recursive: true, force: true });
  });
  let spawned: Spawned;
  try {
    spawned = await spawnCli(dir, args, opts);
  } catch (e) {
    forget();
    await removeDir(dir);
    throw e;
  }
  const { child, exited, stdoutPath, stderrPath } = spawned;
  running.pid = child.pid;
  let done: ExitStatus | undefined;
  void exited.then((s) => (done = s)).catch(() => undefined);

  let finalOutput: { stdout: string; stderr: string } | undefined;
  let stopping: Promise<ExitStatus> | undefined;
  const stop = (graceMs = 10_000): Promise<ExitStatus> =>
    (stopping ??= (async () => {
      if (done === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        timer.unref();
        await exited.finally(() => clearTimeout(timer)).catch(() => undefined);
      }
      finalOutput = { stdout: await readText(stdoutPath), stderr: await readText(stderrPath) };
      await removeDir(dir);
      forget();
      return (await exited.catch(() => undefined)) ?? { code: null, signal: null };
    })());

  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let url: string | undefined;
  for (;;) {
    const stdout = await readText(stdoutPath);
    url ??= urlFrom(args, stdout);
    if (url !== undefined && stdout.includes(BANNER_FIRST_LINE) && (await healthy(url))) {
      const password = /^\s*Password:\s+(\S+)/m.exec(stdout)?.[1];
      return {
        url,
        pid: child.pid ?? -1,
        ...(password === undefined ? {} : { password }),
        stdoutText: async () => finalOutput?.stdout ?? readText(stdoutPath),
        stderrText: async () => finalOutput?.stderr ?? readText(stderrPath),
        kill: (signal: NodeJS.Signals = 'SIGTERM') => void child.kill(signal),
        exited,
        stop,
      };
    }
    if (done !== undefined || Date.now() > deadline) {
      const why =
        done === undefined ? 'did not become healthy in time' : `exited with ${JSON.stringify(done)}`;
      await stop(2000);
      throw new Error(
        `shellwego ${args.join(' ')} ${why}\nstdout:\n${finalOutput?.stdout ?? ''}\nstderr:\n${finalOutput?.stderr ?? ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
