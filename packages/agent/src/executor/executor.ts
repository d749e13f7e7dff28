import {
  instanceSpecSchema,
  type InstanceHandle,
  type InstanceSpec,
  type RuntimeDriver,
} from '@shellwego/driver-sdk';
import type { InstanceNetwork, NetworkManager } from '../network/network-manager.js';
import type { Action, ActualInstance } from '../reconciler/plan.js';
import { InstanceStore } from '../state/instance-store.js';
import { systemClock, type Clock } from './clock.js';
import { Limiter } from './limiter.js';
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
  driver: RuntimeDriver;
  network: InstanceNetworker;
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

const errorOf = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** Carries out plan()'s actions with a runtime driver and the node's network, recording what runs on disk. */
export class Executor {
  private readonly store: InstanceStore;
  private readonly limiter: Limiter;
  private readonly tracker: RestartTracker;
  private readonly inFlight = new Set<string>();
  /** Instances recoverAll() found gone; the driver may know nothing of them any more ('unknown'). */
  private readonly lost = new Set<string>();
  private readonly graceMs: number;

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
      const status = await this.opts.driver.inspect(r.handle).catch(() => undefined);
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
      const alive = await this.opts.driver.recover(r.handle).catch(() => false);
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
      return { action, outcome: 'done' };
    } catch (e) {
      if (action.kind !== 'stop') this.tracker.recordFailure(id);
      return { action, outcome: 'failed', error: errorOf(e) };
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async execute(action: Action): Promise<void> {
    switch (action.kind) {
      case 'create':
        return this.create(action.instanceId, action.spec);
      case 'stop':
        await this.stop(action.instanceId, { destroy: true });
        this.tracker.forget(action.instanceId);
        return;
      case 'replace':
        // A new spec is a new start: the old one's failures say nothing about it.
        await this.stop(action.instanceId, { destroy: false });
        this.tracker.forget(action.instanceId);
        return this.create(action.instanceId, action.spec);
      case 'restart':
        this.lost.delete(action.instanceId);
        await this.stop(action.instanceId, { destroy: false });
        return this.create(action.instanceId, action.spec);
    }
  }

  /** Network, then the driver, then the record: a failure at any step undoes the earlier ones. */
  private async create(instanceId: string, desiredSpec: unknown): Promise<void> {
    const spec: InstanceSpec = instanceSpecSchema.parse(desiredSpec);
    if (spec.instanceId !== instanceId)
      throw new Error(`action for ${instanceId} carries a spec for ${spec.instanceId}`);
    // Counted before the network too, so a failing setup backs off like a failing start.
    this.tracker.recordStart(instanceId);
    const network = await this.opts.network.setup(instanceId);
    let handle: InstanceHandle | undefined;
    try {
      handle = await this.opts.driver.start({ ...spec, netnsPath: network.nsPath });
      await this.store.save({
        instanceId,
        spec: desiredSpec,
        handle,
        network,
        savedAt: new Date().toISOString(),
      });
    } catch (e) {
      if (handle !== undefined) await this.opts.driver.destroy(handle).catch(() => undefined);
      await this.opts.network.teardown(instanceId);
      await this.store.remove(instanceId);
      throw e;
    }
  }

  /**
   * Ends the instance, then its network, then its record, so a crash midway leaves a record to retry from.
   * `destroy` also removes what the driver keeps (logs), for instances that leave the node for good.
   */
  private async stop(instanceId: string, opts: { destroy: boolean }): Promise<void> {
    const record = await this.store.get(instanceId);
    if (record !== undefined) {
      await this.opts.driver.stop(record.handle, { graceMs: this.graceMs });
      if (opts.destroy) await this.opts.driver.destroy(record.handle);
    }
    await this.opts.network.teardown(instanceId);
    await this.store.remove(instanceId);
  }
}
