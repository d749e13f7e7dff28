import { schemas, type InstanceWireSpec } from '@shellwego/core';
import type { InstanceHandle, InstanceSpec, LogLine, RuntimeDriver } from '@shellwego/driver-sdk';
import { usesHostNetwork, type DriverSet } from './driver-set.js';
import type { InstanceNetwork, NetworkManager } from '../network/network-manager.js';
import type { Action, ActualInstance } from '../reconciler/plan.js';
import { withoutSecrets } from '../reconciler/spec-form.js';
import type { SpecResolver } from '../resolve/resolver.js';
import { InstanceStore } from '../state/instance-store.js';
import { systemClock, type Clock } from './clock.js';
import { Limiter } from '@shellwego/core';
import {
  RestartTracker,
  defaultBackoff,
  defaultCrashLoop,
  type BackoffOptions,
  type CrashLoopOptions,
  type RestartCondition,
} from './restart-tracker.js';

/** The part of NetworkManager the executor uses. */
export type InstanceNetworker = Pick<NetworkManager, 'setup' | 'teardown' | 'lookup'>;

export interface ExecutorOptions {
  /** The node's drivers; a new instance gets the one of its wire spec's runtime. */
  drivers: DriverSet;
  network: InstanceNetworker;
  /** Turns each action's wire spec into the driver's spec, pulling the image when the node lacks it. */
  resolver: SpecResolver;
  /** Called when an instance's progress() changes (a pull starts or ends), so the status can be reported early. */
  onProgress?: (instanceId: string) => void;
  /** Called after each successful driver start with how long it took, for the spawn-duration histogram. */
  onSpawned?: (instanceId: string, seconds: number) => void;
  /** Called once a started instance is recorded, with its desired (wire) spec and address: checks may begin. */
  onStarted?: (instanceId: string, desired: unknown, ip: string) => void;
  /** The agent's state dir; instance records go to `<stateDir>/instances/<id>.json`. */
  stateDir: string;
  /** Actions carried out at once. Default 4. */
  concurrency?: number;
  /** SIGTERM-to-SIGKILL grace on stop. Default 10 s. */
  graceMs?: number;
  backoff?: Partial<BackoffOptions>;
  crashLoop?: Partial<CrashLoopOptions>;
  clock?: Clock;
}

/**
 * What became of one action. `deferred`: held back by the instance's backoff, to be planned again later;
 * `busy`: another action for the instance was still running; `failed`: tried and failed (the next plan retries).
 */
export type ActionResult =
  | { action: Action; outcome: 'done' | 'busy' }
  | { action: Action; outcome: 'deferred'; retryAt: number }
  | { action: Action; outcome: 'failed'; error: Error };

export interface RecoverResult {
  /** Still running: adopted as they are, same process. */
  adopted: string[];
  /** Gone while the agent was away: their records stay and actual() reports them exited, so plan() decides. */
  lost: string[];
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

const errorOf = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Carries out plan()'s actions with a runtime driver and the node's network, recording what runs on disk. Actions
 * carry wire specs (schemas.instanceWireSpec); records keep them without secret values, which live only in the
 * actions (from the desired state in memory) and in the driver's memory-backed storage.
 */
export class Executor {
  private readonly store: InstanceStore;
  private readonly limiter: Limiter;
  private readonly tracker: RestartTracker;
  private readonly inFlight = new Set<string>();
  /** Instances recoverAll() found gone; the driver may know nothing of them any more ('unknown'). */
  private readonly lost = new Set<string>();
  private readonly graceMs: number;
  /** What an instance being (re)started is busy with, e.g. `pulling <image>`. */
  private readonly busyWith = new Map<string, string>();
  /** Why the last create/replace/restart of an instance failed, until one succeeds or it is stopped. */
  private readonly startErrors = new Map<string, string>();

  constructor(private readonly opts: ExecutorOptions) {
    this.store = new InstanceStore(opts.stateDir);
    this.limiter = new Limiter(opts.concurrency ?? 4);
    this.graceMs = opts.graceMs ?? 10_000;
    this.tracker = new RestartTracker(
      opts.clock ?? systemClock,
      { ...defaultBackoff, ...opts.backoff },
      { ...defaultCrashLoop, ...opts.crashLoop },
    );
  }

  /** Runs the actions, at most `concurrency` at once and one per instance; never throws for a failed action. */
  async apply(actions: readonly Action[]): Promise<ActionResult[]> {
    return Promise.all(actions.map((a) => this.applyOne(a)));
  }

  /** What runs, as plan() wants it: every recorded instance with the driver's view of it. */
  async actual(): Promise<ActualInstance[]> {
    const out: ActualInstance[] = [];
    for (const r of await this.store.load()) {
      const status = await this.driverOf(r.handle)
        .inspect(r.handle)
        .catch(() => undefined);
      let state = status?.state ?? 'unknown';
      // A container lost while the agent was away (e.g. a reboot) exited for all the restart policy cares.
      if (state === 'unknown' && this.lost.has(r.instanceId)) state = 'exited';
      if (state === 'running') this.tracker.recordRunning(r.instanceId);
      out.push({ instanceId: r.instanceId, spec: r.spec, state, exitCode: status?.exitCode ?? null });
    }
    return out;
  }

  /** After an agent restart: re-attach to every recorded instance that still runs, without restarting it. */
  async recoverAll(): Promise<RecoverResult> {
    const result: RecoverResult = { adopted: [], lost: [] };
    for (const r of await this.store.load()) {
      const alive = await this.driverOf(r.handle)
        .recover(r.handle)
        .catch(() => false);
      (alive ? result.adopted : result.lost).push(r.instanceId);
      if (!alive) this.lost.add(r.instanceId);
    }
    return result;
  }

  /** Backoff and crash-loop state, to report with the instance status. */
  condition(instanceId: string): RestartCondition & { status: 'ok' | 'backoff' | 'crash-loop' } {
    const c = this.tracker.condition(instanceId);
    const waiting = c.retryAt > (this.opts.clock ?? systemClock).now();
    return { ...c, status: c.crashLoop ? 'crash-loop' : waiting ? 'backoff' : 'ok' };
  }

  /** The network of a running instance, e.g. for its health check. */
  async networkOf(instanceId: string): Promise<InstanceNetwork | null> {
    return (await this.store.get(instanceId))?.network ?? null;
  }

  /** What an instance being (re)started waits for, e.g. `pulling <image>`; undefined when nothing. */
  /** Instances whose last start failed, with the reason: a failed start leaves no record to report them by. */
  startFailures(): Map<string, string> {
    return new Map(this.startErrors);
  }

  progress(instanceId: string): string | undefined {
    return this.busyWith.get(instanceId);
  }

  /** Every instance with a progress() message, e.g. ones still pulling their image and not recorded yet. */
  inProgress(): Map<string, string> {
    return new Map(this.busyWith);
  }

  /** The last `count` lines an instance wrote (stdout and stderr), for its status; [] when unknown. */
  async logTail(instanceId: string, count: number, timeoutMs = 2000): Promise<LogLine[]> {
    const record = await this.store.get(instanceId);
    if (record === undefined) return [];
    const tail: LogLine[] = [];
    try {
      for await (const line of this.driverOf(record.handle).logs(record.handle, {
        follow: false,
        signal: AbortSignal.timeout(timeoutMs),
      })) {
        tail.push(line);
        if (tail.length > count) tail.shift();
      }
    } catch {
      // A log rotated or removed midway, or a slow read: report what was read.
    }
    return tail;
  }

  private async applyOne(action: Action): Promise<ActionResult> {
    const id = action.instanceId;
    if (this.inFlight.has(id)) return { action, outcome: 'busy' };
    if (action.kind !== 'restart') this.lost.delete(id);
    // An exited instance up for restart is a failure of its last start, whether or not we restart it now; one lost
    // while the agent was away (a reboot) did not fail, so it comes back at once.
    if (action.kind === 'restart' && !this.lost.has(id)) this.tracker.recordFailure(id);
    if (action.kind !== 'stop' && !this.tracker.mayStart(id))
      return { action, outcome: 'deferred', retryAt: this.tracker.condition(id).retryAt };
    this.inFlight.add(id);
    try {
      await this.limiter.run(() => this.execute(action));
      this.startErrors.delete(id);
      return { action, outcome: 'done' };
    } catch (e) {
      const error = errorOf(e);
      if (action.kind !== 'stop') {
        this.tracker.recordFailure(id);
        this.startErrors.set(id, error.message);
      }
      return { action, outcome: 'failed', error };
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async execute(action: Action): Promise<void> {
    switch (action.kind) {
      case 'create':
        return this.launch(action.instanceId, action.spec, { replacing: false });
      case 'stop':
        await this.stop(action.instanceId, { destroy: true });
        this.tracker.forget(action.instanceId);
        return;
      case 'replace':
        // A new spec is a new start: the old one's failures say nothing about it.
        this.tracker.forget(action.instanceId);
        return this.launch(action.instanceId, action.spec, { replacing: true });
      case 'restart':
        this.lost.delete(action.instanceId);
        return this.launch(action.instanceId, action.spec, { replacing: true });
    }
  }

  /**
   * Resolves (and pulls) first, while an instance being replaced still runs, then stops the old one and starts.
   * Counted as a start before resolving, so a failing pull backs off like a failing start.
   */
  private async launch(instanceId: string, desired: unknown, opts: { replacing: boolean }): Promise<void> {
    const wire: InstanceWireSpec = schemas.instanceWireSpec.parse(desired);
    this.tracker.recordStart(instanceId);
    const driver = this.opts.drivers.forRuntime(wire.runtime);
    const spec = await this.resolve(instanceId, wire);
    if (opts.replacing) await this.stop(instanceId, { destroy: false });
    await this.start(instanceId, driver, spec, desired);
  }

  /** The driver that started an instance; a handle of a driver this agent lacks fails each call on it. */
  private driverOf(handle: InstanceHandle): RuntimeDriver {
    return this.opts.drivers.forHandle(handle);
  }

  private async resolve(instanceId: string, wire: InstanceWireSpec): Promise<InstanceSpec> {
    try {
      return await this.opts.resolver.resolve(instanceId, wire, {
        onPull: (reference) => this.setProgress(instanceId, `pulling ${reference}`),
        onPullProgress: (reference, p) =>
          this.setProgress(instanceId, `pulling ${reference}: ${mib(p.done)} of ${mib(p.total)} MiB`),
      });
    } finally {
      this.setProgress(instanceId, undefined);
    }
  }

  private setProgress(instanceId: string, message: string | undefined): void {
    if (this.busyWith.get(instanceId) === message) return;
    if (message === undefined) this.busyWith.delete(instanceId);
    else this.busyWith.set(instanceId, message);
    this.opts.onProgress?.(instanceId);
  }

  /** Network, then the driver, then the record: a failure at any step undoes the earlier ones. */
  private async start(
    instanceId: string,
    driver: RuntimeDriver,
    spec: InstanceSpec,
    desired: unknown,
  ): Promise<void> {
    const host = usesHostNetwork(driver);
    const network = await this.opts.network.setup(instanceId, { mode: host ? 'host' : 'netns' });
    let handle: InstanceHandle | undefined;
    try {
      const t0 = performance.now();
      handle = await driver.start({
        ...spec,
        ...(host ? {} : { netnsPath: network.nsPath }),
        network: { ip: network.ip, prefix: network.prefix, gateway: network.gateway, mac: network.mac },
      });
      this.opts.onSpawned?.(instanceId, (performance.now() - t0) / 1000);
      await this.store.save({
        instanceId,
        spec: withoutSecrets(desired),
        handle,
        network,
        savedAt: new Date().toISOString(),
      });
    } catch (e) {
      if (handle !== undefined) await driver.destroy(handle).catch(() => undefined);
      await this.opts.network.teardown(instanceId);
      await this.store.remove(instanceId);
      throw e;
    }
    this.opts.onStarted?.(instanceId, desired, network.ip);
  }

  /**
   * Ends the instance, then its network, then its record, so a crash midway leaves a record to retry from.
   * `destroy` also removes what the driver keeps (logs), for instances that leave the node for good.
   */
  private async stop(instanceId: string, opts: { destroy: boolean }): Promise<void> {
    const record = await this.store.get(instanceId);
    if (record !== undefined) {
      const driver = this.driverOf(record.handle);
      await driver.stop(record.handle, { graceMs: this.graceMs });
      if (opts.destroy) await driver.destroy(record.handle);
    }
    await this.opts.network.teardown(instanceId);
    await this.store.remove(instanceId);
  }
}
