import { freePort, runCli, startShellwegoProcess, type ShellwegoProcess } from '@shellwego/testkit';
// The agent's test helpers for real networks: a free subnet.
import { freeSubnet } from '../../agent/src/network/test-net.js';

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
