import { mkdir } from 'node:fs/promises';
import type { NodeInstanceStatus } from '@shellwego/core';
import type { RuntimeDriver } from '@shellwego/driver-sdk';
import { Executor } from '../executor/executor.js';
import { NetworkManager } from '../network/network-manager.js';
import { plan, type DesiredInstance } from '../reconciler/plan.js';
import { agentConfigSchema, type AgentConfig, type AgentConfigInput } from './config.js';
import { ControlPlaneClient, type Watch, type WatchMessage } from './control-plane-client.js';
import { CredentialsStore } from './credentials.js';
import { hostCapacity, hostResources } from './host-resources.js';
import { instanceStatus } from './instance-status.js';
import { LazyNetwork } from './lazy-network.js';
import { silentLogger, type AgentLogger } from './logger.js';

export interface AgentOptions {
  config: AgentConfigInput;
  /** The runtime driver (the CLI passes a RuncDriver); its fingerprint decides the runtimes announced. */
  driver: RuntimeDriver;
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
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The node agent: registers once (the credential stays in the data dir), re-adopts what runs, then reconciles on every
 * watch message and every 10 s, reporting after each pass and heartbeating every 10 s. When the control plane is away
 * it keeps the last desired state it had, so workloads keep running; it never acts on a desired state it has not seen.
 */
export class Agent {
  private readonly timers: NodeJS.Timeout[] = [];
  private watcher: Watch | undefined;
  private desired: WatchMessage | undefined;
  private passing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly st: AgentState;

  private constructor(
    private readonly config: AgentConfig,
    private readonly client: ControlPlaneClient,
    private readonly executor: Executor,
    private readonly logger: AgentLogger,
    nodeId: string,
  ) {
    this.st = { nodeId, watchConnects: 0, connected: false, revision: null, lastReportAt: null };
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
    const nodeId = await identify(config, opts.driver, client, logger);
    const executor = new Executor({
      driver: opts.driver,
      network: new LazyNetwork(() =>
        NetworkManager.open({ stateDir: config.dataDir, bridgeName: config.bridgeName, cidr: config.cidr }),
      ),
      stateDir: config.dataDir,
    });
    const recovered = await executor.recoverAll();
    logger.info({ node_id: nodeId, ...recovered }, 'agent started; re-adopted running instances');
    const agent = new Agent(config, client, executor, logger, nodeId);
    agent.run();
    return agent;
  }

  state(): Readonly<AgentState> {
    return { ...this.st };
  }

  /** Stops talking to the control plane; the workloads keep running, to be re-adopted by the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.watcher?.close();
    await this.passing;
  }

  private run(): void {
    this.watcher = this.client.watch({
      onOpen: () => {
        this.st.watchConnects++;
        this.st.connected = true;
        this.logger.info({ connects: this.st.watchConnects }, 'watch connected');
      },
      onClose: () => {
        this.st.connected = false;
      },
      onState: (state) => {
        this.desired = state;
        this.st.revision = state.revision;
        this.trigger();
      },
    });
    this.timers.push(setInterval(() => this.trigger(), this.config.reconcileMs));
    this.timers.push(setInterval(() => void this.heartbeat(), this.config.heartbeatMs));
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
          this.logger.error({ err: errText(err) }, 'reconcile pass failed'),
        );
      } while (this.again && !this.stopped);
    })().finally(() => (this.passing = undefined));
  }

  private async pass(): Promise<void> {
    if (this.desired !== undefined) {
      const actions = plan(desiredInstances(this.desired, this.logger), await this.executor.actual());
      if (actions.length > 0) {
        for (const r of await this.executor.apply(actions)) {
          if (r.outcome === 'failed')
            this.logger.warn(
              { action: r.action.kind, instance: r.action.instanceId, err: r.error.message },
              'action failed',
            );
        }
      }
    }
    await this.report();
  }

  private async report(): Promise<void> {
    const actual = await this.executor.actual();
    const appOf = new Map((this.desired?.instances ?? []).map((i) => [i.id, i.app_id]));
    const instances: NodeInstanceStatus[] = [];
    for (const a of actual) {
      const cond = this.executor.condition(a.instanceId);
      instances.push(
        instanceStatus(a, {
          appId: appOf.get(a.instanceId),
          address: (await this.executor.networkOf(a.instanceId))?.ip,
          condition: cond.status === 'ok' ? undefined : cond.status,
        }),
      );
    }
    try {
      await this.client.reportStatus({
        instances,
        resources: await hostResources(this.config.dataDir, actual.length),
      });
      this.st.lastReportAt = new Date();
    } catch (err) {
      // The control plane may be away; the next pass reports again.
      this.logger.warn({ err: errText(err) }, 'status report failed');
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.client.heartbeat();
    } catch (err) {
      this.logger.warn({ err: errText(err) }, 'heartbeat failed');
    }
  }
}

/** The stored credential if there is one, else a registration with the join token (stored before it is used). */
async function identify(
  config: AgentConfig,
  driver: RuntimeDriver,
  client: ControlPlaneClient,
  logger: AgentLogger,
): Promise<string> {
  const store = new CredentialsStore(config.dataDir);
  const stored = await store.load();
  if (stored) {
    if (stored.url !== config.url)
      logger.warn({ registered_with: stored.url, url: config.url }, 'using the credential of another URL');
    client.authenticate(stored.node_id, stored.credential);
    return stored.node_id;
  }
  if (config.joinToken === undefined)
    throw new Error(`this node is not registered yet (no ${store.file}); pass a join token`);
  const fp = await driver.fingerprint();
  if (!fp.usable)
    throw new Error(`the ${driver.name} runtime is not usable: ${fp.reason ?? 'no reason given'}`);
  const registered = await client.register({
    join_token: config.joinToken,
    name: config.name,
    runtimes: [driver.name],
    capacity: await hostCapacity(config.dataDir),
    ...(config.zone === undefined ? {} : { zone: config.zone }),
  });
  await store.save({ url: config.url, node_id: registered.node_id, credential: registered.credential });
  client.authenticate(registered.node_id, registered.credential);
  logger.info({ node_id: registered.node_id, name: config.name }, 'registered with the control plane');
  return registered.node_id;
}

/** The watch's instances as plan() wants them; those without a spec yet cannot be started and are left out. */
function desiredInstances(state: WatchMessage, logger: AgentLogger): DesiredInstance[] {
  const out: DesiredInstance[] = [];
  for (const i of state.instances) {
    if (i.spec === undefined) {
      logger.debug({ instance: i.id }, 'desired instance without a spec; skipped');
      continue;
    }
    out.push({
      instanceId: i.id,
      spec: i.spec,
      ...(i.restart_policy ? { restartPolicy: i.restart_policy } : {}),
    });
  }
  return out;
}
