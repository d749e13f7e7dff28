import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageStore, type RegistryConfig } from '@shellwego/registry';
import type { RuntimeDriver } from '@shellwego/driver-sdk';
import { DriverSet, type RuntimeDrivers } from '../executor/driver-set.js';
import { Executor } from '../executor/executor.js';
import { HealthBoard } from '../health/health-board.js';
import { LogStreamer } from '../logs/log-stream.js';
import { AgentMetrics } from '../metrics/agent-metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { plan, type DesiredInstance } from '../reconciler/plan.js';
import { ArtifactCache } from '../resolve/artifacts.js';
import { Resolver } from '../resolve/resolver.js';
import { InstanceStore } from '../state/instance-store.js';
import { runningApps, statsFromRecords } from '../stats/recorded-instances.js';
import { StatsSampler } from '../stats/stats-sampler.js';
import { agentConfigSchema, type AgentConfig, type AgentConfigInput } from './config.js';
import { ControlPlaneClient, type Watch, type WatchMessage } from './control-plane-client.js';
import { hostCapacity, hostResources, type NodeCapacity } from './host-resources.js';
import { identify } from './identify.js';
import { LazyNetwork, openNodeNetwork } from './lazy-network.js';
import { withUsage } from './instance-status.js';
import { silentLogger, type AgentLogger } from './logger.js';
import { healthTargetOf, healthTargets, instanceStatuses } from './status-report.js';

export interface AgentOptions {
  config: AgentConfigInput;
  /**
   * The runtime drivers by product runtime (the CLI passes `container: RuncDriver`, `wasm: WasmDriver`, …). Those
   * whose fingerprint says usable are the runtimes the node announces; the others are left out with a warning.
   */
  drivers: RuntimeDrivers;
  /** Mirrors, credentials and insecure hosts for image pulls (registry's loadRegistryConfig); default none. */
  registry?: RegistryConfig;
  logger?: AgentLogger;
}

/** What the agent knows of its link to the control plane, for tests and for operators' logs. */
export interface AgentState {
  nodeId: string;
  /** Watch sockets opened so far (1 after start, +1 per reconnect). */
  watchConnects: number;
  connected: boolean;
  /** Revision of the last desired state received; null until the first one arrives. */
  revision: number | null;
  lastReportAt: Date | null;
  /** Where /metrics is served; null when turned off or when the port could not be bound. */
  metricsPort: number | null;
}

interface Parts {
  config: AgentConfig;
  client: ControlPlaneClient;
  drivers: DriverSet;
  executor: Executor;
  health: HealthBoard;
  metrics: AgentMetrics;
  logs: LogStreamer;
  stats: StatsSampler;
  logger: AgentLogger;
  /** What the node offers, measured once at start: announced at registration and with every report. */
  capacity: NodeCapacity;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The node agent: registers once (the credential stays in the data dir), re-adopts what runs, then reconciles on every
 * watch message and every 10 s, reporting after each pass, on every health change and while images pull, and
 * heartbeating every 10 s. When the control plane is away it keeps the last desired state it had, so workloads keep
 * running; it never acts on a desired state it has not seen.
 */
export class Agent {
  private readonly timers: NodeJS.Timeout[] = [];
  private watcher: Watch | undefined;
  private metricsServer: MetricsServer | undefined;
  private desired: WatchMessage | undefined;
  private passing: Promise<void> | undefined;
  private again = false;
  private reporting: Promise<void> | undefined;
  private reportAgain = false;
  private stopped = false;
  private readonly st: AgentState;

  private constructor(
    private readonly parts: Parts,
    nodeId: string,
  ) {
    this.st = {
      nodeId,
      watchConnects: 0,
      connected: false,
      revision: null,
      lastReportAt: null,
      metricsPort: null,
    };
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const config = agentConfigSchema.parse(opts.config);
    const logger = opts.logger ?? silentLogger;
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const client = new ControlPlaneClient(config.url, {
      timeoutMs: config.requestTimeoutMs,
      backoff: config.backoff,
      logger,
    });
    const drivers = await usableDrivers(opts.drivers, logger);
    const capacity = await hostCapacity(config.dataDir, config.cpuOvercommit);
    const nodeId = await identify(config, drivers.runtimes(), capacity, client, logger);
    const images = await ImageStore.open(
      config.imagesDir ?? join(config.dataDir, 'images'),
      opts.registry === undefined ? {} : { config: opts.registry },
    );
    // Due at 80 % of the pass period: reports follow passes a little irregularly, and a sample just short of a period
    // old should not wait a whole extra pass.
    const stats = new StatsSampler({
      statsOf: statsFromRecords(config.dataDir, drivers),
      minIntervalMs: Math.floor(config.reconcileMs * 0.8),
      logger,
    });
    const metrics = new AgentMetrics({ usage: () => stats.all() });
    const health = new HealthBoard();
    // Bound once the agent exists: the executor reports pulls through it.
    const late: { agent?: Agent } = {};
    const executor = new Executor({
      drivers,
      network: new LazyNetwork(() => openNodeNetwork(config, logger)),
      resolver: new Resolver({
        images,
        artifacts: new ArtifactCache(join(config.dataDir, 'artifacts'), (digest) => client.artifact(digest)),
        logDir: join(config.dataDir, 'logs'),
        runtimeDir: join(config.dataDir, 'runtime'),
        volumesDir: join(config.dataDir, 'volumes'),
      }),
      stateDir: config.dataDir,
      onProgress: () => late.agent?.requestReport(),
      onSpawned: (_id, seconds) => metrics.spawnDuration.observe(seconds),
      // Checks start the moment an instance runs, not after the pass's other actions and its report: a deploy's
      // switch waits on this instance's first healthy answer.
      onStarted: (id, desired, ip) => {
        const target = healthTargetOf(id, desired, ip);
        if (target !== undefined && late.agent?.isStopped() !== true) health.watch(target);
      },
    });
    const recovered = await executor.recoverAll();
    logger.info({ node_id: nodeId, ...recovered }, 'agent started; re-adopted running instances');
    // Reads the executor's records (same directory) to find an instance's driver handle.
    const records = new InstanceStore(config.dataDir);
    const logs = new LogStreamer({
      driverOf: (handle) => drivers.forHandle(handle),
      handleOf: async (id) => (await records.get(id))?.handle,
      connect: (requestId) => client.logSocket(requestId),
      logger,
    });
    const agent = (late.agent = new Agent(
      { config, client, drivers, executor, health, metrics, logs, stats, logger, capacity },
      nodeId,
    ));
    health.on('change', (c) => {
      logger.info({ instance: c.instanceId, health: c.status, detail: c.detail }, 'health changed');
      agent.requestReport();
    });
    await agent.serveMetrics();
    agent.run();
    return agent;
  }

  /** Stopping or stopped: no new health checks (stop() ends the running ones). */
  isStopped(): boolean {
    return this.stopped;
  }

  state(): Readonly<AgentState> {
    return { ...this.st };
  }

  /** Stops talking to the control plane; the workloads keep running, to be re-adopted by the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.watcher?.close();
    this.parts.logs.closeAll();
    this.parts.health.stopAll();
    await this.passing;
    await this.reporting;
    this.parts.health.stopAll(); // a pass that ended after the first call may have started monitors again
    await this.metricsServer?.close();
  }

  private async serveMetrics(): Promise<void> {
    const { config, metrics, logger } = this.parts;
    if (config.metricsPort === null) return;
    try {
      this.metricsServer = await startMetricsServer(metrics.registry, config.metricsHost, config.metricsPort);
      this.st.metricsPort = this.metricsServer.port;
    } catch (err) {
      // Metrics are for operators; a taken port must not keep the node from running its workloads.
      logger.error(
        { err: errText(err), host: config.metricsHost, port: config.metricsPort },
        'cannot serve metrics; running without them',
      );
    }
  }

  private run(): void {
    const { client, config, logger } = this.parts;
    this.watcher = client.watch({
      onOpen: () => {
        this.st.watchConnects++;
        this.st.connected = true;
        logger.info({ connects: this.st.watchConnects }, 'watch connected');
      },
      onClose: () => {
        this.st.connected = false;
      },
      onState: (state) => {
        this.desired = state;
        this.st.revision = state.revision;
        this.trigger();
      },
      onLogRequest: (request) => {
        if (!this.stopped) this.parts.logs.handle(request);
      },
    });
    this.timers.push(setInterval(() => this.trigger(), config.reconcileMs));
    this.timers.push(setInterval(() => void this.heartbeat(), config.heartbeatMs));
    // A first report at once, so the control plane sees the re-adopted instances without waiting for the watch.
    this.trigger();
  }

  /** One pass at a time; a trigger during a pass runs one more pass after it (level-triggered, so one is enough). */
  private trigger(): void {
    if (this.stopped) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = (async () => {
      do {
        this.again = false;
        await this.pass().catch((err: unknown) =>
          this.parts.logger.error({ err: errText(err) }, 'reconcile pass failed'),
        );
      } while (this.again && !this.stopped);
    })().finally(() => (this.passing = undefined));
  }

  private async pass(): Promise<void> {
    const { executor, metrics, logger } = this.parts;
    if (this.desired !== undefined) {
      const endTimer = metrics.reconcileDuration.startTimer();
      // Instances whose desired entry did not parse are left as they are: neither created nor stopped.
      const skipped = new Set(this.desired.skipped);
      const actual = (await executor.actual()).filter((a) => !skipped.has(a.instanceId));
      const actions = plan(desiredInstances(this.desired), actual);
      for (const r of actions.length > 0 ? await executor.apply(actions) : []) {
        metrics.actions.inc({ kind: r.action.kind, outcome: r.outcome });
        if (r.outcome === 'failed')
          logger.warn(
            { action: r.action.kind, instance: r.action.instanceId, err: r.error.message },
            'action failed',
          );
      }
      endTimer();
    }
    this.requestReport();
    await this.reporting;
  }

  /** Reports soon: at once when idle, else once more after the report under way (each one sends the full state). */
  private requestReport(): void {
    if (this.stopped) return;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = (async () => {
      do {
        this.reportAgain = false;
        await this.report().catch((err: unknown) =>
          this.parts.logger.error({ err: errText(err) }, 'building the status report failed'),
        );
      } while (this.reportAgain && !this.stopped);
    })().finally(() => (this.reporting = undefined));
  }

  private async report(): Promise<void> {
    const { executor, health, metrics, client, config, logger, drivers, stats, capacity } = this.parts;
    // Taken first: a pull of a small image may be over before the rest of the report is gathered.
    const busy = executor.inProgress();
    const actual = await executor.actual();
    if (!this.stopped) health.sync(await healthTargets(actual, executor));
    const appOf = new Map((this.desired?.instances ?? []).map((i) => [i.id, i.app_id]));
    // Not awaited: the report carries the samples of the round before (see refreshSoon).
    void stats.refreshSoon(runningApps(actual, appOf));
    // Only those still desired: appOf holds the desired ones, and instanceStatuses skips the rest.
    const instances = withUsage(
      await instanceStatuses(actual, busy, executor, health, appOf, executor.startFailures()),
      (id) => stats.usage(id),
    );
    metrics.countInstances(instances);
    try {
      await client.reportStatus({
        instances,
        resources: await hostResources(config.dataDir, actual.length),
        runtimes: drivers.runtimes(),
        capacity,
      });
      this.st.lastReportAt = new Date();
    } catch (err) {
      // The control plane may be away; the next pass reports again.
      logger.warn({ err: errText(err) }, 'status report failed');
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.parts.client.heartbeat();
    } catch (err) {
      this.parts.logger.warn({ err: errText(err) }, 'heartbeat failed');
    }
  }
}

/** The watch's instances as plan() wants them; each carries its wire spec, secrets included (kept in memory only). */
function desiredInstances(state: WatchMessage): DesiredInstance[] {
  return state.instances.map((i) => ({ instanceId: i.id, spec: i.spec, restartPolicy: i.restart_policy }));
}

/** The drivers whose fingerprint says they can run here; none usable is an error that says why for each. */
async function usableDrivers(all: RuntimeDrivers, logger: AgentLogger): Promise<DriverSet> {
  const usable: Record<string, RuntimeDriver> = {};
  const reasons: string[] = [];
  for (const [runtime, driver] of Object.entries(all)) {
    const fp = await driver.fingerprint().catch((e: unknown) => ({ usable: false, reason: errText(e) }));
    if (fp.usable) usable[runtime] = driver;
    else {
      const reason = fp.reason ?? 'no reason given';
      reasons.push(`the ${runtime} runtime (${driver.name}) is not usable: ${reason}`);
      logger.warn({ runtime, driver: driver.name, reason }, 'runtime not usable; not announced');
    }
  }
  if (Object.keys(usable).length === 0) throw new Error(reasons.join('; ') || 'no runtime driver given');
  return new DriverSet(usable);
}
