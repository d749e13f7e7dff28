import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { defaultDataDir } from '../data-dir.js';
import { stopRequested, stopWithin } from '../role-lifecycle.js';
import { usageError } from '../errors.js';
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

const STOP_TIMEOUT_MS = 15_000;

/** 80/443 as root (ports below 1024), 8000/8443 otherwise: what `shellwego up` documents. */
export function defaultEdgePorts(isRoot: boolean): { http: number; https: number } {
  return isRoot ? { http: 80, https: 443 } : { http: 8000, https: 8443 };
}

async function runEdge(io: Io, flags: EdgeFlags): Promise<void> {
  // `shellwego up` hands its edge the token in the environment, where `ps` does not show it.
  const token = flags.token ?? io.env.SHELLWEGO_EDGE_TOKEN;
  if (token === undefined || token === '')
    throw usageError('the edge needs a platform admin API token: --token swg_… (or SHELLWEGO_EDGE_TOKEN)');
  const ports = defaultEdgePorts(io.isRoot);
  const httpPort =
    flags.httpPort === undefined ? ports.http : parseInteger(flags.httpPort, '--http-port', 'http-port');
  const httpsPort =
    flags.httpsPort === undefined ? ports.https : parseInteger(flags.httpsPort, '--https-port', 'https-port');
  const metricsPort = parseInteger(flags.metricsPort, '--metrics-port', 'metrics-port');
  // Imported here so client commands do not load the proxy.
  const [{ startEdge, CertificateStore, linkToControlPlane }, { createLogger }] = await Promise.all([
    import('@shellwego/edge'),
    import('@shellwego/control-plane'),
  ]);
  const logger = createLogger(flags.logLevel, 2);
  const stateDir = join(flags.dataDir ?? defaultDataDir(io), 'edge');
  const certificates = new CertificateStore({ stateDir, logger });
  // Certificates and routes of the last run first: the edge serves from its first second, control plane or not.
  await certificates.load();
  const edge = await startEdge({ httpPort, httpsPort, host: flags.host, stateDir, certificates, logger });
  const link = linkToControlPlane({ url: flags.api, token, edge, certificates, logger });
  const metrics = createServer((req, res) => {
    if (req.url !== '/metrics') return res.writeHead(404).end();
    edge.metricsRegistry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': edge.metricsRegistry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    metrics.once('error', reject);
    metrics.listen(metricsPort, '127.0.0.1', resolve);
  }).catch((e: unknown) => logger.error({ err: String(e) }, 'metrics endpoint not started'));
  note(
    io,
    `Edge serving http://${flags.host}:${edge.httpPort} and https://${flags.host}:${edge.httpsPort ?? '-'}.`,
  );

  const signal = await stopRequested(io);
  note(io, `${signal}: draining`);
  link.close();
  metrics.close();
  await stopWithin(STOP_TIMEOUT_MS, () => edge.close({ drainMs: 10_000 }));
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
