import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, openSync, closeSync, rmSync } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selfSignedCertificate } from './certificates.js';
import { logTail } from './child-log.js';
import { onExitCleanup } from './exit-cleanup.js';
import { freePort } from './ports.js';
import { stopChild, terminateSync } from './processes.js';
import { makeTempDir, removeDir } from './temp.js';
import { startTokenServer } from './token-server.js';
import type { TokenServer } from './token-server.js';

const REGISTRY_BIN = '/usr/bin/docker-registry';
const STOP_GRACE_MS = 5000;
const BIND_ATTEMPTS = 3;

/** A throwaway Distribution 2.8 registry on 127.0.0.1 (TESTING.md §2). */
export interface RegistryServer {
  /** `127.0.0.1:<port>`, the registry part of image references. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The filesystem storage root: `docker/registry/v2/…` lives under it. */
  storageRoot: string;
  /** The registry's on-disk file for a blob, for tamper tests. */
  blobDataPath(digest: string): string;
  /** Present in `auth: 'token'` mode. */
  tokenServer: TokenServer | undefined;
  /** The registry's log (stdout and stderr). */
  log(): Promise<string>;
  /** SIGTERM, SIGKILL after 5 s, stops the token server, removes the directory. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /**
   * `token`: Bearer tokens from an in-process token server (with `credentials`, the token server requires them).
   * Basic (htpasswd) is not offered: Distribution accepts only bcrypt htpasswd and nothing here can make bcrypt.
   */
  auth?: 'none' | 'token';
  credentials?: { username: string; password: string };
  readyTimeoutMs?: number;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryServer> {
  await assertInstalled();
  const dir = await makeTempDir('testkit-registry-');
  const forgetDir = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  let tokenServer: TokenServer | undefined;
  try {
    let authYaml = '';
    if (options.auth === 'token') {
      const { keyPem, certPem } = await selfSignedCertificate(dir, { name: 'token', subject: 'signer' });
      tokenServer = await startTokenServer({
        keyPem,
        certPem,
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      authYaml =
        `auth:\n  token: {realm: "${tokenServer.realm}", service: ${tokenServer.service}, ` +
        `issuer: ${tokenServer.issuer}, rootcertbundle: ${join(dir, 'token.crt')}}\n`;
    }
    const storageRoot = join(dir, 'data');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const child = await startProcess(dir, storageRoot, port, authYaml, options.readyTimeoutMs ?? 20_000);
        return serverFor(child, dir, port, storageRoot, tokenServer, forgetDir);
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= BIND_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await tokenServer?.stop();
    await removeDir(dir);
    forgetDir();
    throw error;
  }
}

async function assertInstalled(): Promise<void> {
  try {
    await access(REGISTRY_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `${REGISTRY_BIN} is missing. The setup script (.ci/run) must \`apt-get install -y docker-registry\`.`,
    );
  }
}

class PortTakenError extends Error {}

async function startProcess(
  dir: string,
  storageRoot: string,
  port: number,
  authYaml: string,
  readyTimeoutMs: number,
): Promise<ChildProcess & { pid: number }> {
  const configPath = join(dir, 'config.yml');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log: {level: info, accesslog: {disabled: true}}',
      'storage:',
      `  filesystem: {rootdirectory: ${storageRoot}}`,
      '  delete: {enabled: true}',
      '  maintenance: {uploadpurging: {enabled: false}}',
      `http: {addr: "127.0.0.1:${port}", secret: ${randomBytes(16).toString('hex')}}`,
      'health: {storagedriver: {enabled: false}}',
      authYaml,
    ].join('\n'),
  );
  const logPath = join(dir, 'registry.log');
  // A file, not a pipe: nobody has to drain it, and it survives for error messages.
  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    // Clean env: REGISTRY_* variables would override the configuration.
    child = spawn(REGISTRY_BIN, ['serve', configPath], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const log = logTail(logPath);
      const why = `docker-registry exited before it was ready (code ${code}, signal ${signal}) on port ${port}\n${log}`;
      reject(log.includes('address already in use') ? new PortTakenError(why) : new Error(why));
    });
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitReady(port, readyTimeoutMs), exited]);
  } catch (error) {
    await stopChild(child, 'SIGKILL', STOP_GRACE_MS);
    throw error;
  }
  if (child.pid === undefined) throw new Error('docker-registry reported ready but has no pid');
  return child as ChildProcess & { pid: number };
}

/** Ready once GET /v2/ answers 200 (open) or 401 (auth configured). */
async function waitReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry was not ready within ${timeoutMs} ms on port ${port}`);
}

function serverFor(
  child: ChildProcess & { pid: number },
  dir: string,
  port: number,
  storageRoot: string,
  tokenServer: TokenServer | undefined,
  forgetDir: () => void,
): RegistryServer {
  const forgetProcess = onExitCleanup(() => terminateSync(child.pid, 'SIGTERM', 2000));
  let stopping: Promise<void> | undefined;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    storageRoot,
    tokenServer,
    blobDataPath: (digest) => {
      const hex = digest.slice(digest.indexOf(':') + 1);
      return join(
        storageRoot,
        'docker/registry/v2/blobs',
        digest.slice(0, digest.indexOf(':')),
        hex.slice(0, 2),
        hex,
        'data',
      );
    },
    log: () => readFile(join(dir, 'registry.log'), 'utf8'),
    stop: () => {
      stopping ??= (async () => {
        await stopChild(child, 'SIGTERM', STOP_GRACE_MS);
        forgetProcess();
        await tokenServer?.stop();
        await removeDir(dir);
        forgetDir();
      })();
      return stopping;
    },
  };
}
