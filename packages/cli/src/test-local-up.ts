import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  freePort,
  mountsUnder,
  runCli,
  startShellwegoProcess,
  type ShellwegoProcess,
} from '@shellwego/testkit';
// The agent's test helpers for real networks: a free subnet.
import { freeSubnet, removeOwned } from '../../agent/src/network/test-net.js';
import { until } from './test-load.js';

export interface LocalUp {
  up: ShellwegoProcess;
  /** The edge's plain HTTP port (reach apps with curl --resolve APP.localhost:PORT:127.0.0.1). */
  httpPort: number;
  httpsPort: number;
}

/**
 * `shellwego up` as a user runs it (root: its agent and edge too), on `dir`, with a bridge, a free subnet and
 * interface names of the caller's `prefix` (cleaned up by the caller: registerExitCleanup/removeOwned), free ports,
 * and only warnings logged. For the end-to-end tests of every runtime and of the dashboard.
 */
export async function startLocalUp(opts: {
  dir: string;
  prefix: string;
  env?: Record<string, string>;
}): Promise<LocalUp> {
  const [apiPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  // prettier-ignore
  const args = [
    'up', '--data-dir', opts.dir, '--api-port', String(apiPort), '--log-level', 'warn',
    '--bridge', `${opts.prefix}br`, '--subnet', await freeSubnet(), '--network-prefix', opts.prefix,
    '--agent-metrics-port', '0', '--http-port', String(httpPort), '--https-port', String(httpsPort),
    '--edge-metrics-port', '0',
  ];
  const up = await startShellwegoProcess(args, opts.env === undefined ? {} : { env: opts.env });
  return { up, httpPort, httpsPort };
}

/** `shellwego login` as the first admin with the password `up` printed, for the CLI with HOME=home; throws if refused. */
export async function loginAsFirstAdmin(up: ShellwegoProcess, home: string): Promise<void> {
  const login = await runCli(['login', '--url', up.url, '--email', 'admin@shellwego.local'], {
    env: { HOME: home },
    input: `${up.password ?? ''}\n`,
  });
  if (login.code !== 0) throw new Error(`login as the first admin failed: ${login.stderr}`);
}

const execFileAsync = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> => (await execFileAsync(cmd, args)).stdout;

/** Where the agent of `up --data-dir dir` keeps runc's state. */
export const runcRootOf = (dir: string): string => join(dir, 'agent', 'runtime', 'runc');

/** Container ids under a runc root ('' entries dropped); none when the root is gone. */
export async function containersUnder(runcRoot: string): Promise<string[]> {
  return (await sh('runc', ['--root', runcRoot, 'list', '-q']).catch(() => '')).split('\n').filter(Boolean);
}

/**
 * The end of an end-to-end test: `deleteApp` (so the agent stops the containers, waited for), `up` stopped, then
 * whatever is still on the host for `dir` and `prefix`: containers, mounts, namespaces and links.
 */
export async function stopLocalUp(
  up: ShellwegoProcess | undefined,
  opts: { dir: string; prefix: string; deleteApp?: () => Promise<unknown> },
): Promise<void> {
  const runcRoot = runcRootOf(opts.dir);
  if (up) {
    await opts.deleteApp?.().catch(() => undefined);
    await until('the containers to stop', async () =>
      (await containersUnder(runcRoot)).length === 0 ? true : undefined,
    ).catch(() => undefined);
    await up.stop();
  }
  for (const id of await containersUnder(runcRoot))
    await sh('runc', ['--root', runcRoot, 'delete', '--force', id]);
  for (const m of (await mountsUnder(opts.dir)).sort().reverse()) await sh('umount', ['-l', m]);
  await removeOwned(opts.prefix);
}
