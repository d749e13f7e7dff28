import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { ControlPlane } from '@shellwego/control-plane';
import { Option } from 'commander';
import { defaultDataDir } from '../data-dir.js';
import type { Io } from '../io.js';
import { note, out } from '../io.js';
import { parseInteger } from '../parse.js';
import { usageError } from '../errors.js';
import { stopRequested, stopWithin } from '../role-lifecycle.js';
import { Supervisor } from '../supervisor.js';
import { nodeNameOf, parseCpuOvercommit } from './agent.js';
import { defaultEdgePorts } from './edge.js';

interface ServeFlags {
  dataDir?: string;
  apiPort: string;
  host: string;
  domain: string;
  signup: 'open' | 'invite' | 'closed';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  acmeDirectory?: string;
  acmeEmail?: string;
  /** `up` only: --no-agent / --no-edge set them false. */
  agent?: boolean;
  edge?: boolean;
  bridge?: string;
  subnet?: string;
  networkPrefix?: string;
  agentMetricsPort?: string;
  cpuOvercommit?: string;
  httpPort?: string;
  httpsPort?: string;
  edgeMetricsPort?: string;
}

/** A server that stops in time even when a connection hangs; a second signal stops it at once. */
const CLOSE_TIMEOUT_MS = 10_000;

export function banner(
  url: string,
  admin: { email: string; password: string } | null,
  roles: readonly [string, string][] = [],
): string {
  const lines = ['ShellWeGo is up.', `  API:       ${url}`];
  for (const [role, state] of roles) lines.push(`  ${`${role}:`.padEnd(10)} ${state}`);
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
    .option(
      '--acme-directory <url>',
      "ACME directory for custom domains' certificates, e.g. https://acme-v02.api.letsencrypt.org/directory",
    )
    .option('--acme-email <email>', 'the ACME account e-mail (with --acme-directory)')
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

/** The agent beside the control plane: a child process, registered with a fresh join token on its first start. */
async function startLocalAgent(
  io: Io,
  supervisor: Supervisor,
  cp: ControlPlane,
  dataDir: string,
  flags: ServeFlags,
): Promise<string> {
  if (flags.agent === false) return 'not started (--no-agent)';
  if (!io.isRoot) return 'not started: containers and the node network need root (run `sudo shellwego up`)';
  const env: Record<string, string> = {};
  if (!existsSync(join(dataDir, 'agent', 'node.json'))) {
    const operator = await cp.services.auth.operator();
    const jt = await cp.services.joinTokens.create(operator, { ttl_hours: 1, shared: true });
    env.SHELLWEGO_JOIN_TOKEN = jt.token;
  }
  supervisor.start({
    name: 'agent',
    args: [
      'agent',
      '--join',
      cp.url,
      '--data-dir',
      dataDir,
      '--name',
      nodeNameOf(hostname()),
      '--log-level',
      flags.logLevel,
      ...(flags.bridge === undefined ? [] : ['--bridge', flags.bridge]),
      ...(flags.subnet === undefined ? [] : ['--subnet', flags.subnet]),
      ...(flags.networkPrefix === undefined ? [] : ['--network-prefix', flags.networkPrefix]),
      ...(flags.agentMetricsPort === undefined ? [] : ['--metrics-port', flags.agentMetricsPort]),
      ...(flags.cpuOvercommit === undefined ? [] : ['--cpu-overcommit', flags.cpuOvercommit]),
    ],
    // The agent stops when `up` is gone, even after a SIGKILL of `up` that it could not forward.
    env: { ...env, SHELLWEGO_PARENT_PID: String(process.pid) },
  });
  return `running (node ${nodeNameOf(hostname())})`;
}

const EDGE_TOKEN_NAME = 'edge (shellwego up)';

/**
 * The edge beside the control plane: a child process with a fresh API token of the operator (the previous one
 * revoked), handed over in its environment. Returns the banner line.
 */
async function startLocalEdge(
  io: Io,
  supervisor: Supervisor,
  cp: ControlPlane,
  dataDir: string,
  flags: ServeFlags,
): Promise<string> {
  if (flags.edge === false) return 'not served (--no-edge)';
  const operator = await cp.services.auth.operator();
  for (const t of await cp.services.auth.listApiTokens(operator))
    if (t.name === EDGE_TOKEN_NAME) await cp.services.auth.deleteApiToken(operator, t.id);
  const { token } = await cp.services.auth.createApiToken(operator, { name: EDGE_TOKEN_NAME });
  const ports = defaultEdgePorts(io.isRoot);
  const http = flags.httpPort ?? String(ports.http);
  const https = flags.httpsPort ?? String(ports.https);
  supervisor.start({
    name: 'edge',
    args: [
      'edge',
      '--api',
      cp.url,
      '--data-dir',
      dataDir,
      '--host',
      flags.host,
      '--http-port',
      http,
      '--https-port',
      https,
      '--log-level',
      flags.logLevel,
      ...(flags.edgeMetricsPort === undefined ? [] : ['--metrics-port', flags.edgeMetricsPort]),
    ],
    env: { SHELLWEGO_EDGE_TOKEN: token, SHELLWEGO_PARENT_PID: String(process.pid) },
  });
  return `http://APP.${flags.domain}:${http}, https://APP.${flags.domain}:${https}`;
}

/** ACME settings from the flags: both or neither. */
function acmeOf(flags: ServeFlags): { acme?: { directoryUrl: string; email: string } } {
  if (flags.acmeDirectory === undefined && flags.acmeEmail === undefined) return {};
  if (flags.acmeDirectory === undefined || flags.acmeEmail === undefined)
    throw usageError('--acme-directory and --acme-email go together');
  return { acme: { directoryUrl: flags.acmeDirectory, email: flags.acmeEmail } };
}

/** packages/dashboard/dist, seen from src/commands/ or dist/commands/, and from the one-file bundle in dist/. */
function dashboardOf(): { dashboardDir?: string } {
  const dashboardDir = ['../../../dashboard/dist', '../../dashboard/dist']
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((d) => existsSync(join(d, 'index.html')));
  return dashboardDir === undefined ? {} : { dashboardDir };
}

async function serve(io: Io, flags: ServeFlags, roles: { local: boolean }): Promise<void> {
  const port = parseInteger(flags.apiPort, '--api-port', 'api-port');
  // Checked here, not first by the agent child, which would fail on every restart.
  if (flags.cpuOvercommit !== undefined) parseCpuOvercommit(flags.cpuOvercommit);
  // Imported here: the server's dependencies (database drivers, Fastify) would slow every client command.
  const { startControlPlane, createLogger } = await import('@shellwego/control-plane');
  const dataDir = flags.dataDir ?? defaultDataDir(io);
  const cp = await startControlPlane(
    {
      dataDir,
      host: flags.host,
      port,
      domain: flags.domain,
      signup: flags.signup,
      logLevel: flags.logLevel,
      ...dashboardOf(),
      ...(io.env.DATABASE_URL ? { databaseUrl: io.env.DATABASE_URL } : {}),
      ...(io.env.SHELLWEGO_MASTER_KEY ? { masterKey: io.env.SHELLWEGO_MASTER_KEY } : {}),
      ...acmeOf(flags),
    },
    // Logs go to stderr so that stdout carries only what a person or a script reads (the banner).
    { logger: createLogger(flags.logLevel, 2) },
  );
  const supervisor = new Supervisor(
    { execPath: process.execPath, script: process.argv[1] ?? '' },
    {
      onExit: (name, code, signal, restartIn) => {
        if (restartIn !== null)
          note(
            io,
            `${name} exited (${signal ?? `code ${code}`}); restarting in ${(restartIn / 1000).toFixed(1)} s`,
          );
      },
    },
  );
  const roleLines: [string, string][] = [
    ['Dashboard', dashboardOf().dashboardDir === undefined ? 'not built (npm run build)' : `${cp.url}/`],
  ];
  if (roles.local) {
    roleLines.push(['Agent', await startLocalAgent(io, supervisor, cp, dataDir, flags)]);
    roleLines.push(['Apps', await startLocalEdge(io, supervisor, cp, dataDir, flags)]);
  }
  // Listening before the banner: whoever waits for it may signal at once.
  const stopping = stopRequested(io);
  // SIGHUP reloads the edge (a new worker from the code on disk, no request lost) instead of ending `up`.
  process.on('SIGHUP', () => {
    if (supervisor.signal('edge', 'SIGHUP')) note(io, 'SIGHUP: reloading the edge');
  });
  out(io, banner(cp.url, cp.firstAdmin, roleLines));

  const signal = await stopping;
  note(io, `${signal}: stopping`);
  await stopWithin(CLOSE_TIMEOUT_MS, () => supervisor.stop(CLOSE_TIMEOUT_MS / 2).then(() => cp.close()));
}

export function registerServe(program: Command, io: Io): void {
  serveOptions(
    program
      .command('up')
      .option('--no-agent', 'do not run the node agent here (apps then need other nodes)')
      .option('--bridge <name>', "the agent's bridge for instances (default swg0)")
      .option('--subnet <cidr>', "the instances' subnet on that bridge (default 10.88.0.0/16)")
      .option(
        '--network-prefix <p>',
        "the agent's interface and namespace names start with this (default sw)",
      )
      .option('--agent-metrics-port <port>', "the agent's metrics port (default 9100)")
      .option(
        '--cpu-overcommit <ratio>',
        'offer each CPU this many times over to apps (default 1; see `agent`)',
      )
      .option('--no-edge', 'do not run the edge proxy here')
      .option('--http-port <port>', "the edge's HTTP port (default 80 as root, else 8000)")
      .option('--https-port <port>', "the edge's HTTPS port (default 443 as root, else 8443)")
      .option('--edge-metrics-port <port>', "the edge's metrics port (default 9101)")
      .summary('Run ShellWeGo on this machine (first start prints the admin password)')
      .description(
        'Run ShellWeGo on this machine: the control plane (the API) with its state in the data dir, the\n' +
          'node agent (as root) and the edge proxy, each a child process restarted if it dies; instances and\n' +
          'routes keep serving meanwhile.\n' +
          'The first start prints the admin password, once.',
      ),
  ).action((flags: ServeFlags) => serve(io, flags, { local: true }));

  serveOptions(
    program
      .command('server')
      .summary('Run the control plane role only (for DATABASE_URL=postgres://… setups)')
      .description(
        'Run only the control plane (the API), stateless over its database: run several behind a\n' +
          'load balancer with DATABASE_URL=postgres://… Agents and edges join it with their own commands.',
      ),
  ).action((flags: ServeFlags) => serve(io, flags, { local: false }));
}
