import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { defaultDataDir } from '../data-dir.js';
import { stopRequested, stopWithin } from '../role-lifecycle.js';
import { CliError, usageError } from '../errors.js';
import type { Io } from '../io.js';
import { note } from '../io.js';
import { parseInteger } from '../parse.js';

interface EdgeFlags {
  api: string;
  token?: string;
  dataDir?: string;
  host: string;
  httpPort?: string;
  httpsPort?: string;
  metricsPort: string;
  logLevel: string;
}

/** How long a worker lets requests in flight finish when it stops or is replaced. */
const DRAIN_MS = 10_000;
/** The primary kills a worker still draining after this; `stopWithin` gives up a little later. */
const KILL_AFTER_MS = DRAIN_MS + 2_000;
const STOP_TIMEOUT_MS = DRAIN_MS + 5_000;
/** A CA's request for an ACME token not in the table yet waits this long for the table that brings it. */
const ACME_CHALLENGE_WAIT_MS = 3_000;

/** 80/443 as root (ports below 1024), 8000/8443 otherwise: what `shellwego up` documents. */
export function defaultEdgePorts(isRoot: boolean): { http: number; https: number } {
  return isRoot ? { http: 80, https: 443 } : { http: 8000, https: 8443 };
}

interface EdgeSettings {
  token: string;
  httpPort: number;
  httpsPort: number;
  metricsPort: number;
  /** How often the worker reports per-app traffic to the control plane (SHELLWEGO_EDGE_METRICS_MS; tests shorten it). */
  metricsReportMs: number;
}

function settingsOf(io: Io, flags: EdgeFlags): EdgeSettings {
  // `shellwego up` hands its edge the token in the environment, where `ps` does not show it.
  const token = flags.token ?? io.env.SHELLWEGO_EDGE_TOKEN;
  if (token === undefined || token === '')
    throw usageError('the edge needs a platform admin API token: --token swg_… (or SHELLWEGO_EDGE_TOKEN)');
  const ports = defaultEdgePorts(io.isRoot);
  return {
    token,
    httpPort:
      flags.httpPort === undefined ? ports.http : parseInteger(flags.httpPort, '--http-port', 'http-port'),
    httpsPort:
      flags.httpsPort === undefined
        ? ports.https
        : parseInteger(flags.httpsPort, '--https-port', 'https-port'),
    metricsPort: parseInteger(flags.metricsPort, '--metrics-port', 'metrics-port'),
    metricsReportMs: metricsReportMsOf(io.env.SHELLWEGO_EDGE_METRICS_MS),
  };
}

function metricsReportMsOf(value: string | undefined): number {
  if (value === undefined || value === '') return 10_000;
  const ms = parseInteger(value, 'SHELLWEGO_EDGE_METRICS_MS', 'SHELLWEGO_EDGE_METRICS_MS');
  if (ms < 100 || ms > 3_600_000)
    throw usageError('SHELLWEGO_EDGE_METRICS_MS: the metrics report interval must be 100 to 3600000 ms');
  return ms;
}

/**
 * `shellwego edge` is a cluster primary that binds the sockets and runs the edge in a worker: SIGHUP starts a new
 * worker from the code on disk and drains the old one once the new one serves, a worker that dies is replaced, and
 * the sockets stay open throughout (see @shellwego/edge/process). The worker runs this same command.
 */
async function runEdge(io: Io, flags: EdgeFlags): Promise<void> {
  const settings = settingsOf(io, flags);
  const { isEdgeWorker } = await import('@shellwego/edge/process');
  if (isEdgeWorker()) await runEdgeWorker(io, flags, settings);
  else await runEdgePrimary(io, flags, settings);
}

async function runEdgePrimary(io: Io, flags: EdgeFlags, settings: EdgeSettings): Promise<void> {
  const { bindListenSocket, startEdgePrimary, ListenError } = await import('@shellwego/edge/process');
  const bind = async (host: string, port: number) => {
    try {
      return await bindListenSocket(host, port);
    } catch (e) {
      if (!(e instanceof ListenError)) throw e;
      throw new CliError('LISTEN_FAILED', e.message, {
        hint:
          e.errno === 'EACCES'
            ? 'ports below 1024 need root: pass --http-port/--https-port'
            : "another process has that port, or the address is not this machine's",
      });
    }
  };
  const http = await bind(flags.host, settings.httpPort);
  const https = await bind(flags.host, settings.httpsPort).catch((e: unknown) => {
    http.close();
    throw e;
  });
  const metrics = await bindListenSocket('127.0.0.1', settings.metricsPort).catch((e: unknown) => {
    note(io, `metrics endpoint not started: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  });
  const primary = startEdgePrimary({
    sockets: { http, https, ...(metrics === undefined ? {} : { metrics }) },
    killAfterMs: KILL_AFTER_MS,
    note: (line) => note(io, line),
  });
  const stop = stopRequested(io);
  process.on('SIGHUP', () => {
    note(io, 'SIGHUP: reloading the edge');
    primary.reload();
  });
  const first = await Promise.race([
    primary.started.then(
      (ready) => ({ ready }),
      (error: unknown) => ({ error }),
    ),
    stop.then((signal) => ({ signal })),
  ]);
  if ('error' in first) {
    await primary.stop();
    throw new CliError(
      'EDGE_START_FAILED',
      first.error instanceof Error ? first.error.message : String(first.error),
    );
  }
  if ('ready' in first) {
    const { ready } = first;
    note(
      io,
      `Edge serving http://${flags.host}:${ready.httpPort} and https://${flags.host}:${ready.httpsPort ?? '-'} ` +
        `(worker ${ready.pid}; SIGHUP reloads it).`,
    );
  }
  const signal = 'signal' in first ? first.signal : await stop;
  note(io, `${signal}: draining`);
  await stopWithin(STOP_TIMEOUT_MS, () => primary.stop());
}

async function runEdgeWorker(io: Io, flags: EdgeFlags, settings: EdgeSettings): Promise<void> {
  // First the signals: the primary asks a worker to drain with SIGTERM, possibly while it is still starting, and a
  // terminal's Ctrl-C reaches it too. SIGHUP is the primary's (a hangup must not kill the worker). Not
  // stopRequested(): its parent is the primary, not `shellwego up`, and the primary's death ends it anyway.
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  });
  process.on('SIGHUP', () => undefined);
  // Imported here so client commands and the primary do not load the proxy.
  const [{ startEdge, CertificateStore, linkToControlPlane, reportMetrics }, worker, { createLogger }] =
    await Promise.all([
      import('@shellwego/edge'),
      import('@shellwego/edge/process'),
      import('@shellwego/control-plane'),
    ]);
  // Told to stop before it had its sockets (the primary is stopping): there is nothing to drain.
  const sockets = await Promise.race([worker.receiveSockets(), stop.then(() => undefined)]);
  if (sockets === undefined) return worker.leaveCluster();
  if (sockets.http === undefined) throw new Error('the edge primary sent no HTTP socket');
  const logger = createLogger(flags.logLevel, 2);
  const stateDir = join(flags.dataDir ?? defaultDataDir(io), 'edge');
  const certificates = new CertificateStore({ stateDir, logger });
  // Certificates and routes of the last run first: the worker serves from its first second, control plane or not.
  await certificates.load();
  const edge = await startEdge({
    httpPort: settings.httpPort,
    httpsPort: settings.httpsPort,
    handles: { http: sockets.http, ...(sockets.https === undefined ? {} : { https: sockets.https }) },
    stateDir,
    certificates,
    logger,
    acmeChallengeWaitMs: ACME_CHALLENGE_WAIT_MS,
  });
  const metrics = createServer((req, res) => {
    if (req.url !== '/metrics') return res.writeHead(404).end();
    edge.metricsRegistry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': edge.metricsRegistry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  const metricsPort =
    sockets.metrics === undefined
      ? undefined
      : await new Promise<number>((resolve, reject) => {
          metrics.once('error', reject);
          metrics.listen(sockets.metrics, () => resolve((metrics.address() as AddressInfo).port));
        }).catch((e: unknown) => {
          logger.error({ err: String(e) }, 'metrics endpoint not started');
          return undefined;
        });
  worker.reportReady({
    httpPort: edge.httpPort,
    ...(edge.httpsPort === undefined ? {} : { httpsPort: edge.httpsPort }),
    ...(metricsPort === undefined ? {} : { metricsPort }),
  });
  const link = linkToControlPlane({ url: flags.api, token: settings.token, edge, certificates, logger });
  // Per-app traffic for the API's metrics, with the link's URL and token; a new worker counts from zero.
  const reporter = reportMetrics({
    url: flags.api,
    token: settings.token,
    registry: edge.metricsRegistry,
    logger,
    intervalMs: settings.metricsReportMs,
  });

  const signal = await stop;
  logger.info({ signal }, 'edge worker draining');
  link.close();
  metrics.close();
  await stopWithin(STOP_TIMEOUT_MS, () => edge.close({ drainMs: DRAIN_MS }));
  // After the drain, so the requests it let finish are in the last report.
  await reporter.close();
  worker.leaveCluster();
}

export function registerEdge(program: Command, io: Io): void {
  program
    .command('edge')
    .summary('Run the edge proxy: routes every app hostname to its healthy instances, with HTTPS')
    .description(
      'Run the edge proxy. It watches the route table and certificates of a control plane with a platform\n' +
        "admin's API token, keeps the last ones in <data dir>/edge and serves them from its first second,\n" +
        'also while the control plane is away.',
    )
    .requiredOption('--api <url>', "the control plane's URL, e.g. http://10.0.0.1:8080")
    .option('--token <token>', "a platform admin's API token (or SHELLWEGO_EDGE_TOKEN)")
    .option('--data-dir <dir>', 'where the edge keeps its state (default: as for `shellwego up`)')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--http-port <port>', 'plain HTTP port (default 80 as root, else 8000)')
    .option('--https-port <port>', 'HTTPS port (default 443 as root, else 8443)')
    .option('--metrics-port <port>', 'Prometheus metrics on 127.0.0.1:PORT/metrics', '9101')
    .addOption(
      new Option('--log-level <level>', 'log verbosity (access logs are JSON lines on stderr at info)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .action((flags: EdgeFlags) => runEdge(io, flags));
}
