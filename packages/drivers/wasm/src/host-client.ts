import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { DriverError } from '@shellwego/driver-sdk';
import type { z } from 'zod';
import { hostArgs } from './host-options.js';
import { hostPaths, MAX_SOCKET_PATH } from './host-paths.js';
import { errorBodySchema, healthSchema, type HostHealth, type HostOptions } from './protocol.js';

export const DRIVER_NAME = 'wasm';
const HOST_START_TIMEOUT_MS = 10_000;
const POLL_MS = 25;

/** The host isn't there (no socket, refused, or shutting down): start one, or report the instance as gone. */
export class HostUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostUnavailableError';
  }
}

class StaleSocketError extends Error {}

const agents = new Map<string, Agent>();
function agentFor(socket: string): Agent {
  let agent = agents.get(socket);
  if (agent === undefined) {
    agent = new Agent({ keepAlive: true, maxSockets: 8 });
    agents.set(socket, agent);
  }
  return agent;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** HTTP with JSON bodies to the host's Unix socket; responses are validated before anyone uses them. */
export class HostClient {
  // Keep-alive saves a connect per call; idle sockets are unref'd by Agent, so they never keep a process alive.
  private readonly agent: Agent;

  constructor(readonly socket: string) {
    this.agent = agentFor(socket);
  }

  async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const { status, text } = await this.send(method, path, body);
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      throw new DriverError(
        DRIVER_NAME,
        'RUNTIME_FAILED',
        `wasm host answered ${method} ${path} with non-JSON (status ${status})`,
      );
    }
    if (status === 503) throw new HostUnavailableError('the wasm host is shutting down');
    if (status >= 400) {
      const err = errorBodySchema.safeParse(json);
      if (!err.success)
        throw new DriverError(
          DRIVER_NAME,
          'RUNTIME_FAILED',
          `wasm host answered ${method} ${path} with status ${status}`,
        );
      throw new DriverError(DRIVER_NAME, err.data.code, err.data.message);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new DriverError(
        DRIVER_NAME,
        'RUNTIME_FAILED',
        `wasm host answered ${method} ${path} with an unexpected body: ${parsed.error.message}`,
      );
    return parsed.data;
  }

  private async send(method: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
    try {
      return await this.sendOnce(method, path, body);
    } catch (e) {
      // A kept-alive connection the host closed as we reused it (Node's documented retry case).
      if (e instanceof StaleSocketError) return this.sendOnce(method, path, body);
      throw e;
    }
  }

  private sendOnce(method: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          agent: this.agent,
          method,
          path,
          headers:
            payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        // A dead host's kept-alive socket fails on reuse with a reset, or with EPIPE when the write comes first.
        if (req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE'))
          reject(new StaleSocketError());
        else if (
          e.code === 'ENOENT' ||
          e.code === 'ECONNREFUSED' ||
          e.code === 'ECONNRESET' ||
          e.code === 'EPIPE'
        )
          reject(new HostUnavailableError(`no wasm host on ${this.socket} (${e.code})`));
        else
          reject(
            new DriverError(DRIVER_NAME, 'RUNTIME_FAILED', `wasm host request failed: ${e.message}`, {
              cause: e,
            }),
          );
      });
      req.end(payload);
    });
  }

  health(): Promise<HostHealth> {
    return this.call('GET', '/health', healthSchema);
  }
}

/** A client for the state dir's host, which may or may not be running. */
export function hostClient(stateDir: string): HostClient {
  const { socket } = hostPaths(stateDir);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
    throw new DriverError(
      DRIVER_NAME,
      'INVALID_SPEC',
      `state dir ${stateDir} is too long for the host's Unix socket (${socket} exceeds ${MAX_SOCKET_PATH} bytes); use a shorter stateDir`,
    );
  return new HostClient(socket);
}

const starting = new Map<string, Promise<HostClient>>();

/**
 * The running host for a state dir, started (detached, in its own session, stdio to wasm-host.log) when there is
 * none. Concurrent callers in this process share one start; a second host started by another process sees the
 * first one's live socket and exits.
 */
export function ensureHost(opts: HostOptions): Promise<HostClient> {
  const pending = starting.get(opts.stateDir);
  if (pending !== undefined) return pending;
  const p = startHost(opts).finally(() => starting.delete(opts.stateDir));
  starting.set(opts.stateDir, p);
  return p;
}

async function startHost(opts: HostOptions): Promise<HostClient> {
  const client = hostClient(opts.stateDir);
  const deadline = Date.now() + HOST_START_TIMEOUT_MS;
  // A host that is shutting down answers 503 until it has gone; wait for that, then start ours.
  for (;;) {
    try {
      await client.health();
      return client;
    } catch (e) {
      if (!(e instanceof HostUnavailableError)) throw e;
      if (!/shutting down/.test(e.message)) break;
    }
    if (Date.now() > deadline) break;
    await sleep(POLL_MS);
  }
  const paths = hostPaths(opts.stateDir);
  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  const log = await open(paths.logFile, 'a', 0o600);
  let exited = null as string | null;
  try {
    const child = spawn(
      process.execPath,
      // WASI still prints an ExperimentalWarning on Node 20; it would fill the host log once per worker.
      [
        '--disable-warning=ExperimentalWarning',
        opts.entryScript,
        ...opts.entryArgs,
        '__wasm-host',
        ...hostArgs(opts),
      ],
      {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
    );
    child.once('exit', (code, signal) => {
      exited = signal ?? `status ${code}`;
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
  } catch (e) {
    throw new DriverError(
      DRIVER_NAME,
      'DRIVER_UNAVAILABLE',
      `cannot start the wasm host: ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    await log.close();
  }
  for (;;) {
    try {
      await client.health();
      return client;
    } catch (e) {
      if (!(e instanceof HostUnavailableError)) throw e;
    }
    // Another process's host may have won the race for the socket: then ours exited 0 and that one will answer.
    if (Date.now() > deadline || (exited !== null && exited !== 'status 0')) {
      const tail = (await readFile(paths.logFile, 'utf8').catch(() => '')).slice(-800).trim();
      throw new DriverError(
        DRIVER_NAME,
        'DRIVER_UNAVAILABLE',
        `the wasm host ${exited === null ? `did not answer within ${HOST_START_TIMEOUT_MS} ms` : `exited (${exited})`}: ${tail || 'no output'} (log: ${paths.logFile})`,
      );
    }
    await sleep(POLL_MS);
  }
}
