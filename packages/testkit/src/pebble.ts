import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { selfSignedCertificate } from './certificates.js';
import { logTail } from './child-log.js';
import { onExitCleanup } from './exit-cleanup.js';
import { freePort } from './ports.js';
import { stopChild, terminateSync } from './processes.js';
import { makeTempDir, removeDir } from './temp.js';

const PEBBLE_BIN = '/usr/bin/pebble';
const CHALLTESTSRV_BIN = '/usr/bin/pebble-challtestsrv';
const STOP_GRACE_MS = 3000;
const START_ATTEMPTS = 3;

/** A throwaway ACME server: Pebble 2.4 with pebble-challtestsrv as its DNS (TESTING.md §3). */
export interface PebbleServer {
  /** `https://127.0.0.1:<port>/dir`. */
  directoryUrl: string;
  /** The certificate of Pebble's own TLS listener: trust it to reach `directoryUrl`. */
  listenerCertPem: string;
  /**
   * Where Pebble's validation authority sends HTTP-01 requests: run the responder on 127.0.0.1 there. Every name
   * (`app.test` included) resolves to 127.0.0.1, challtestsrv's `-defaultIPv4`.
   */
  httpPort: number;
  /** Pebble's root certificate for issued chains; regenerated at each start. */
  rootPem(): Promise<string>;
  /** Pebble's and challtestsrv's logs. */
  log(): Promise<string>;
  /** SIGTERM (SIGKILL after 3 s) both processes and remove the directory. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartPebbleOptions {
  /** The HTTP-01 responder's port; a free one by default. */
  httpPort?: number;
  readyTimeoutMs?: number;
}

export async function startPebble(options: StartPebbleOptions = {}): Promise<PebbleServer> {
  await assertInstalled();
  const dir = await makeTempDir('testkit-pebble-');
  const forgetDir = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const children: (ChildProcess & { pid: number })[] = [];
  const forgetChildren: (() => void)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const child of children.reverse()) await stopChild(child, 'SIGTERM', STOP_GRACE_MS);
    for (const forget of forgetChildren) forget();
  };
  try {
    // Debian's pebble ships no listener certificate; its SANs must cover what clients dial.
    const { certPem: listenerCertPem } = await selfSignedCertificate(dir, {
      name: 'pebble',
      subject: 'pebble',
      subjectAltName: 'DNS:localhost,IP:127.0.0.1',
    });
    const httpPort = options.httpPort ?? (await freePort());
    const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    for (let attempt = 1; ; attempt++) {
      const dns = await freePort();
      const ctsManagement = await freePort();
      const acme = await freePort();
      const management = await freePort();
      const tlsPort = await freePort();
      try {
        const cts = await startChild(
          dir,
          'challtestsrv',
          CHALLTESTSRV_BIN,
          // Only DNS: its default HTTP/TLS-ALPN responders would bind :5001-5003 on every interface.
          // `-defaultIPv6 ''`: with ::1, Pebble dials [::1] only and the responder on 127.0.0.1 is never reached.
          [
            '-dns01',
            `127.0.0.1:${dns}`,
            '-http01',
            '',
            '-https01',
            '',
            '-tlsalpn01',
            '',
            '-management',
            `127.0.0.1:${ctsManagement}`,
            '-defaultIPv4',
            '127.0.0.1',
            '-defaultIPv6',
            '',
          ],
          {},
          () => waitTcp(ctsManagement, readyTimeoutMs),
        );
        children.push(cts);
        forgetChildren.push(onExitCleanup(() => terminateSync(cts.pid, 'SIGTERM', 2000)));
        const configPath = join(dir, 'pebble.json');
        await writeFile(
          configPath,
          JSON.stringify({
            pebble: {
              listenAddress: `127.0.0.1:${acme}`,
              managementListenAddress: `127.0.0.1:${management}`,
              certificate: join(dir, 'pebble.crt'),
              privateKey: join(dir, 'pebble.key'),
              httpPort,
              tlsPort,
              ocspResponderURL: '',
              externalAccountBindingRequired: false,
            },
          }),
        );
        const pebble = await startChild(
          dir,
          'pebble',
          PEBBLE_BIN,
          ['-config', configPath, '-dnsserver', `127.0.0.1:${dns}`],
          // No sleeps before validation, and no random bad nonces: tests should not need retries.
          { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
          () => waitHttps(`https://127.0.0.1:${acme}/dir`, listenerCertPem, readyTimeoutMs),
        );
        children.push(pebble);
        forgetChildren.push(onExitCleanup(() => terminateSync(pebble.pid, 'SIGTERM', 2000)));
        return serverFor(dir, acme, management, httpPort, listenerCertPem, stopAll, forgetDir);
      } catch (error) {
        await stopAll();
        children.length = 0;
        forgetChildren.length = 0;
        if (!(error instanceof PortTakenError) || attempt >= START_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await removeDir(dir);
    forgetDir();
    throw error;
  }
}

async function assertInstalled(): Promise<void> {
  for (const bin of [PEBBLE_BIN, CHALLTESTSRV_BIN]) {
    try {
      await access(bin, constants.X_OK);
    } catch {
      throw new Error(`${bin} is missing. The setup script (.ci/run) must \`apt-get install -y pebble\`.`);
    }
  }
}

class PortTakenError extends Error {}

async function startChild(
  dir: string,
  name: string,
  bin: string,
  args: string[],
  env: Record<string, string>,
  ready: () => Promise<void>,
): Promise<ChildProcess & { pid: number }> {
  const logPath = join(dir, `${name}.log`);
  // A file, not a pipe: nobody has to drain it, and it survives for error messages.
  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, args, {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', ...env },
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const log = logTail(logPath);
      const why = `${name} exited before it was ready (code ${code}, signal ${signal})\n${log}`;
      reject(log.includes('address already in use') ? new PortTakenError(why) : new Error(why));
    });
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([ready(), exited]);
  } catch (error) {
    await stopChild(child, 'SIGKILL', STOP_GRACE_MS);
    throw error;
  }
  if (child.pid === undefined) throw new Error(`${name} reported ready but has no pid`);
  return child as ChildProcess & { pid: number };
}

async function waitTcp(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

async function waitHttps(url: string, ca: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await httpsGet(url, ca);
      return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`, { cause: last });
}

/** GET over HTTPS trusting `ca` only (fetch cannot take a CA without an undici dispatcher). */
function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${url}: ${res.statusCode} ${body}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function serverFor(
  dir: string,
  acme: number,
  management: number,
  httpPort: number,
  listenerCertPem: string,
  stopAll: () => Promise<void>,
  forgetDir: () => void,
): PebbleServer {
  let stopping: Promise<void> | undefined;
  return {
    directoryUrl: `https://127.0.0.1:${acme}/dir`,
    listenerCertPem,
    httpPort,
    rootPem: () => httpsGet(`https://127.0.0.1:${management}/roots/0`, listenerCertPem),
    log: async () =>
      `${await readFile(join(dir, 'pebble.log'), 'utf8').catch(() => '')}\n` +
      (await readFile(join(dir, 'challtestsrv.log'), 'utf8').catch(() => '')),
    stop: () => {
      stopping ??= (async () => {
        await stopAll();
        await removeDir(dir);
        forgetDir();
      })();
      return stopping;
    },
  };
}
