import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { defaultDataDir } from '../data-dir.js';
import { kernelDirOf } from './kernel.js';
import type { Io } from '../io.js';
import { note } from '../io.js';
import { stopRequested, stopWithin } from '../role-lifecycle.js';
import { CliError } from '../errors.js';
import { parseInteger } from '../parse.js';

interface AgentFlags {
  join: string;
  token?: string;
  dataDir?: string;
  name?: string;
  zone?: string;
  bridge?: string;
  subnet?: string;
  networkPrefix?: string;
  metricsPort?: string;
  cpuOvercommit?: string;
  logLevel: string;
}

/** Stopping only closes the link to the control plane; a hang there must not keep the process up. */
const STOP_TIMEOUT_MS = 10_000;

/** --cpu-overcommit: a ratio from 1 (every milli-CPU backed by a real one) to 100. */
export function parseCpuOvercommit(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 1 || n > 100) {
    throw new CliError('VALIDATION_FAILED', `--cpu-overcommit: "${value}" is not a ratio from 1 to 100`, {
      field: 'cpu-overcommit',
    });
  }
  return n;
}

/** The host name as a DNS label, the node's default name. */
export function nodeNameOf(host: string): string {
  const label = host
    .toLowerCase()
    .split('.')[0]
    ?.replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return label || 'node';
}

async function runAgent(io: Io, flags: AgentFlags): Promise<void> {
  // Imported here so client commands do not load the agent and the driver.
  const [
    { Agent },
    { RuncDriver },
    { WasmDriver },
    { selectMicrovmBackend },
    { createLogger },
    { loadRegistryConfig },
  ] = await Promise.all([
    import('@shellwego/agent'),
    import('@shellwego/driver-runc'),
    import('@shellwego/driver-wasm'),
    import('@shellwego/driver-microvm'),
    import('@shellwego/control-plane'),
    import('@shellwego/registry'),
  ]);
  const dataDir = flags.dataDir ?? defaultDataDir(io);
  const logger = createLogger(flags.logLevel, 2);
  // `shellwego up` hands its agent the join token in the environment, where `ps` does not show it.
  const token = flags.token ?? io.env.SHELLWEGO_JOIN_TOKEN;
  // Firecracker where it can run (KVM, binary, vmlinux), else QEMU microvm; without an installed kernel the runtime
  // says so in its fingerprint and the node does not announce it.
  const microvm = await selectMicrovmBackend({
    qemu: { kernelDir: kernelDirOf(dataDir) },
    firecracker: { kernelDir: kernelDirOf(dataDir) },
  });
  const agent = await Agent.start({
    config: {
      url: flags.join,
      ...(token === undefined || token === '' ? {} : { joinToken: token }),
      // Beside the control plane's files when both roles share a data dir (`up` on one machine).
      dataDir: join(dataDir, 'agent'),
      // The node's image store is the one `shellwego images` manages: an imported image runs without a registry.
      imagesDir: join(dataDir, 'images'),
      name: flags.name ?? nodeNameOf(hostname()),
      ...(flags.zone === undefined ? {} : { zone: flags.zone }),
      ...(flags.bridge === undefined ? {} : { bridgeName: flags.bridge }),
      ...(flags.subnet === undefined ? {} : { cidr: flags.subnet }),
      ...(flags.networkPrefix === undefined ? {} : { networkPrefix: flags.networkPrefix }),
      ...(flags.metricsPort === undefined
        ? {}
        : { metricsPort: parseInteger(flags.metricsPort, '--metrics-port', 'metrics-port') }),
      ...(flags.cpuOvercommit === undefined
        ? {}
        : { cpuOvercommit: parseCpuOvercommit(flags.cpuOvercommit) }),
    },
    drivers: {
      container: new RuncDriver(),
      microvm: microvm.driver,
      // The wasm host is this same program in another role (main.ts); without its path, no wasm runtime.
      ...(io.script === undefined
        ? {}
        : { wasm: new WasmDriver({ entry: { script: io.script, args: [] } }) }),
    },
    registry: await loadRegistryConfig(dataDir),
    logger,
  });
  // Listening before the line that says it runs: whoever waits for that line may signal at once.
  const stopping = stopRequested(io);
  note(io, `Agent running as node ${agent.state().nodeId}.`);

  const signal = await stopping;
  note(io, `${signal}: stopping (instances keep running)`);
  await stopWithin(STOP_TIMEOUT_MS, () => agent.stop());
}

export function registerAgent(program: Command, io: Io): void {
  program
    .command('agent')
    .summary('Run the node agent: join a control plane and run the instances it schedules here')
    .description(
      'Run the node agent (as root, for runc and the node network). The first start registers the node\n' +
        'with a join token (`--token`); the node credential it receives is kept in <data dir>/agent/node.json\n' +
        'and later starts need no token. Stopping the agent leaves its instances running.',
    )
    .requiredOption('--join <url>', "the control plane's URL, e.g. http://10.0.0.1:8080")
    .option('--token <token>', 'join token from an admin, first start only (or SHELLWEGO_JOIN_TOKEN)')
    .option('--data-dir <dir>', 'where the agent keeps its state (default: as for `shellwego up`)')
    .option('--name <name>', "the node's name (default: the host name)")
    .option('--zone <zone>', "the node's zone (default: the join token's)")
    .option('--bridge <name>', 'the bridge instances attach to (default swg0)')
    .option('--subnet <cidr>', "the instances' subnet on the bridge (default 10.88.0.0/16)")
    .option(
      '--network-prefix <p>',
      "names of the instances' interfaces and namespaces start with this (default sw)",
    )
    .option(
      '--metrics-port <port>',
      'Prometheus metrics on 127.0.0.1:PORT/metrics (default 9100; 0: any free port)',
    )
    .option(
      '--cpu-overcommit <ratio>',
      'offer each CPU this many times over to the scheduler, 1 to 100 (default 1: no shared CPU)',
    )
    .addOption(
      new Option('--log-level <level>', 'log verbosity (logs are JSON lines on stderr)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .action((flags: AgentFlags) => runAgent(io, flags));
}
