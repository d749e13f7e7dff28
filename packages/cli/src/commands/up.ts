import type { Command } from 'commander';
import { Option } from 'commander';
import { defaultDataDir } from '../data-dir.js';
import type { Io } from '../io.js';
import { note, out } from '../io.js';
import { parseInteger } from '../parse.js';
import { CliError } from '../errors.js';

interface ServeFlags {
  dataDir?: string;
  apiPort: string;
  host: string;
  domain: string;
  signup: 'open' | 'invite' | 'closed';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** A server that stops in time even when a connection hangs; a second signal stops it at once. */
const CLOSE_TIMEOUT_MS = 10_000;

export function banner(url: string, admin: { email: string; password: string } | null): string {
  // The dashboard's line joins when the dashboard does (issue 9).
  const lines = ['ShellWeGo is up.', `  API:       ${url}`];
  if (admin) {
    lines.push(`  Admin:     ${admin.email}`);
    lines.push(`  Password:  ${admin.password}   (shown once: change it after logging in)`);
  }
  return `${lines.join('\n')}\n`;
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option(
      '--data-dir <dir>',
      'where the database and keys live (default: $SHELLWEGO_DATA_DIR, /var/lib/shellwego as root, else ~/.local/share/shellwego)',
    )
    .option('--api-port <port>', 'port of the API', '8080')
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--domain <domain>', 'each app gets APP.DOMAIN as its default hostname', 'localhost')
    .addOption(
      new Option('--signup <mode>', 'who may create an account: anyone, invitees, or nobody')
        .choices(['open', 'invite', 'closed'])
        .default('invite'),
    )
    .addOption(
      new Option('--log-level <level>', 'log verbosity (logs are JSON lines on stderr)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .addHelpText(
      'after',
      `
Environment:
  SHELLWEGO_DATA_DIR    default for --data-dir
  DATABASE_URL          postgres://… keeps the state in PostgreSQL instead of SQLite in the data dir
  SHELLWEGO_MASTER_KEY  the key that seals secrets (default: <data dir>/master.key, created on first start)`,
    );
}

async function serve(io: Io, flags: ServeFlags): Promise<void> {
  const port = parseInteger(flags.apiPort, '--api-port', 'api-port');
  // Imported here: the server's dependencies (database drivers, Fastify) would slow every client command.
  const { startControlPlane, createLogger } = await import('@shellwego/control-plane');
  const cp = await startControlPlane(
    {
      dataDir: flags.dataDir ?? defaultDataDir(io),
      host: flags.host,
      port,
      domain: flags.domain,
      signup: flags.signup,
      logLevel: flags.logLevel,
      ...(io.env.DATABASE_URL ? { databaseUrl: io.env.DATABASE_URL } : {}),
      ...(io.env.SHELLWEGO_MASTER_KEY ? { masterKey: io.env.SHELLWEGO_MASTER_KEY } : {}),
    },
    // Logs go to stderr so that stdout carries only what a person or a script reads (the banner).
    { logger: createLogger(flags.logLevel, 2) },
  );
  out(io, banner(cp.url, cp.firstAdmin));

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  note(io, `${signal}: stopping`);
  const forced = new Promise<string>((resolve) => {
    setTimeout(() => resolve(`did not stop within ${CLOSE_TIMEOUT_MS / 1000} s`), CLOSE_TIMEOUT_MS).unref();
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(`${s} again`));
  });
  const stopped = await Promise.race([cp.close().then(() => null), forced]);
  if (stopped !== null) throw new CliError('SHUTDOWN_FORCED', `stopped before closing cleanly: ${stopped}`);
}

export function registerServe(program: Command, io: Io): void {
  serveOptions(
    program
      .command('up')
      .summary('Run ShellWeGo on this machine (first start prints the admin password)')
      .description(
        'Run ShellWeGo on this machine: the control plane (the API) with its state in the data dir.\n' +
          'The agent and the edge proxy join `up` in later releases; until then apps are recorded, not run.\n' +
          'The first start prints the admin password, once.',
      ),
  ).action((flags: ServeFlags) => serve(io, flags));

  serveOptions(
    program
      .command('server')
      .summary('Run the control plane role only (for DATABASE_URL=postgres://… setups)')
      .description(
        'Run only the control plane (the API), stateless over its database: run several behind a\n' +
          'load balancer with DATABASE_URL=postgres://… Agents and edges join it with their own commands.',
      ),
  ).action((flags: ServeFlags) => serve(io, flags));
}
