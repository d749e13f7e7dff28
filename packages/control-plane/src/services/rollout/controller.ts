import { idPrefixes, newId } from '@shellwego/core';
import { place, reservationOf, type NodeSnapshot, type PlacedInstance } from '@shellwego/scheduler';
import type { Deps } from '../context.js';
import { inTransaction, leads } from '../context.js';
import { advanceDeployment, finishDeployment } from '../deployments.js';
import type { EdgeRoutesService } from '../edge-routes.js';
import type { EventService } from '../events.js';
import type { NodeProtocolService } from '../node-protocol.js';
import { releaseSpecOf } from '../releases.js';
import type { AppsTable, DeploymentsTable, InstancesTable, NodesTable } from '../../store/schema.js';
import { decide, healthGraceOf, type Decision, type InstanceView } from './decide.js';
import type { RolloutSignal } from './signal.js';

export interface RolloutOptions {
  /** How often every app is looked at even without a signal. */
  sweepMs: number;
  /** How long the edge gets to stop routing to an instance before it is stopped. */
  drainMs: number;
  /** How long a new instance may stay unhealthy before its deployment fails, at least (5 check intervals if more). */
  healthGraceMs: number;
  /** How long an exited instance gets to be restarted by its agent before it is replaced elsewhere. */
  restartGraceMs: number;
}

export const defaultRolloutOptions: RolloutOptions = {
  sweepMs: 2_000,
  drainMs: 2_000,
  healthGraceMs: 10_000,
  restartGraceMs: 15_000,
};

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The rollout controller (ARCHITECTURE.md "A deployment, end to end", steps 3–6): for each app, places the
 * instances its target release lacks, routes them once healthy, drains and stops the old ones, and settles the
 * running deployment. All it knows is in the store, so a restarted control plane picks up where it stopped.
 * One pass at a time; apps signalled during a pass are looked at again right after it.
 */
export class RolloutController {
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private sweepDue = true;

  constructor(
    private readonly deps: Deps,
    private readonly parts: {
      events: EventService;
      nodeProtocol: NodeProtocolService;
      edge: EdgeRoutesService;
      signal: RolloutSignal;
    },
    private readonly opts: RolloutOptions = defaultRolloutOptions,
  ) {}

  start(): void {
    this.parts.signal.listen((appId) => {
      if (appId === '*') this.sweepDue = true;
      else this.dirty.add(appId);
      this.kick();
    });
    this.timer = setInterval(() => {
      this.sweepDue = true;
      this.kick();
    }, this.opts.sweepMs);
    this.kick();
  }

  /** This control plane just took the leader lease: sweep every app now. */
  becameLeader(): void {
    if (this.timer === undefined) return;
    this.sweepDue = true;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.running;
  }

  /** Runs one pass now over the signalled apps, or every app when a sweep is due (tests call it directly). */
  async pass(): Promise<void> {
    if (!leads(this.deps)) {
      // Another control plane leads and acts on these apps; ours sweeps everything once it takes the lease.
      this.dirty.clear();
      this.sweepDue = true;
      return;
    }
    const all = this.sweepDue;
    this.sweepDue = false;
    const ids = all ? await this.appsToWatch() : [...this.dirty];
    this.dirty.clear();
    for (const id of ids) {
      if (this.stopped) return;
      try {
        await this.reconcileApp(id);
      } catch (e) {
        this.deps.logger.error({ app_id: id, err: errText(e) }, 'rollout pass failed');
      }
    }
  }

  private kick(): void {
    if (this.stopped || this.soon !== undefined) return;
    // A short delay gathers a burst of status reports into one pass.
    this.soon = setTimeout(() => {
      this.soon = undefined;
      if (this.running) {
        void this.running.then(() => this.kick());
        return;
      }
      this.running = this.pass().finally(() => {
        this.running = undefined;
        if (this.dirty.size > 0) this.kick();
      });
    }, 20);
  }

  private async appsToWatch(): Promise<string[]> {
    const db = this.deps.store.db;
    const withWork = await db
      .selectFrom('apps')
      .select('id')
      .where((eb) =>
        eb.or([
          eb('current_release_id', 'is not', null),
          eb.exists(eb.selectFrom('instances').select('id').whereRef('instances.app_id', '=', 'apps.id')),
          eb.exists(
            eb
              .selectFrom('deployments')
              .select('id')
              .whereRef('deployments.app_id', '=', 'apps.id')
              .where('deployments.finished_at', 'is', null),
          ),
        ]),
      )
      .execute();
    return withWork.map((r) => r.id);
  }

  private async reconcileApp(appId: string): Promise<void> {
    const db = this.deps.store.db;
    const app = await db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
    if (!app) return;
    const now = this.deps.now();
    let dep = await db
      .selectFrom('deployments')
      .selectAll()
      .where('app_id', '=', appId)
      .where('finished_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (dep && dep.deadline_at <= now.toISOString()) {
      await this.fail(app, dep, `timed out while ${dep.status.replace('_', ' ')}`);
      dep = undefined;
    }
    const targetReleaseId = dep?.release_id ?? app.current_release_id ?? null;
    const instances = await db
      .selectFrom('instances')
      .selectAll()
      .where('app_id', '=', appId)
      .where('desired', '=', 'running')
      .execute();
    const nodes = await db.selectFrom('nodes').select(['id', 'status']).execute();
    const ready = new Set(nodes.filter((n) => n.status === 'ready').map((n) => n.id));
    const views: InstanceView[] = instances.map((i) => ({
      id: i.id,
      releaseId: i.release_id,
      fromDeployment: dep !== undefined && i.release_id === dep.release_id && i.created_at >= dep.created_at,
      routed: i.routed === 1,
      unroutedAt: i.unrouted_at === null ? null : Date.parse(i.unrouted_at),
      createdAt: Date.parse(i.created_at),
      stateSince: Date.parse(i.updated_at),
      state: i.state,
      health: i.health,
      message: i.message,
      nodeReady: ready.has(i.node_id),
    }));
    const release = targetReleaseId
      ? await db.selectFrom('releases').selectAll().where('id', '=', targetReleaseId).executeTakeFirst()
      : undefined;
    const spec = release ? releaseSpecOf(release) : undefined;
    const decision = decide(
      {
        replicas: release ? app.replicas : 0,
        targetReleaseId: release?.id ?? null,
        deploying: dep !== undefined,
        strategy: dep?.strategy === 'bluegreen' ? 'bluegreen' : 'rolling',
        healthIntervalMs: spec?.health_check.interval_ms ?? 10_000,
      },
      views,
      {
        now: now.getTime(),
        drainMs: this.opts.drainMs,
        restartGraceMs: this.opts.restartGraceMs,
        healthGraceMs: healthGraceOf(this.opts.healthGraceMs, spec),
      },
    );
    await this.apply(app, dep, decision, instances, release?.id ?? null);
  }

  private async apply(
    app: AppsTable,
    dep: DeploymentsTable | undefined,
    d: Decision,
    instances: InstancesTable[],
    releaseId: string | null,
  ): Promise<void> {
    const at = this.deps.now().toISOString();
    const byId = new Map(instances.map((i) => [i.id, i]));
    const touchedNodes = new Set<string>();
    let routesChanged = false;
    let placed: InstancesTable[] = [];
    let unschedulable: string | undefined;
    if (d.start > 0 && releaseId !== null && d.outcome?.kind !== 'failed') {
      const r = await this.place(app, releaseId, d.start, at);
      placed = r.placed;
      unschedulable = r.reason;
    }
    await inTransaction(this.deps, async (tx) => {
      for (const id of d.route) {
        await tx
          .updateTable('instances')
          .set({ routed: 1, unrouted_at: null })
          .where('id', '=', id)
          .execute();
        routesChanged = true;
      }
      for (const id of d.unroute) {
        await tx.updateTable('instances').set({ routed: 0, unrouted_at: at }).where('id', '=', id).execute();
        routesChanged = true;
      }
      for (const id of d.stop) {
        await tx
          .updateTable('instances')
          .set({ desired: 'stopped', routed: 0 })
          .where('id', '=', id)
          .execute();
        const node = byId.get(id)?.node_id;
        if (node) touchedNodes.add(node);
      }
      for (const p of placed) {
        await tx.insertInto('instances').values(p).execute();
        touchedNodes.add(p.node_id);
      }
      // The app's volumes not yet on a node are where its first instance goes.
      const first = placed[0];
      if (first !== undefined)
        await tx
          .updateTable('volumes')
          .set({ node_id: first.node_id })
          .where('app_id', '=', app.id)
          .where('mount_path', 'is not', null)
          .where('node_id', 'is', null)
          .execute();
    });
    for (const node of touchedNodes) await this.parts.nodeProtocol.bumpRevision(node);
    if (routesChanged) this.parts.edge.changed();
    for (const p of placed)
      await this.parts.events.publish({
        orgId: app.org_id,
        type: 'instance.placed',
        resource: 'instances',
        id: p.id,
        data: { app_id: app.id, node_id: p.node_id, release_id: p.release_id },
      });
    for (const id of d.stop)
      await this.parts.events.publish({
        orgId: app.org_id,
        type: 'instance.stopping',
        resource: 'instances',
        id,
        data: { app_id: app.id },
      });

    if (!dep) {
      if (unschedulable)
        this.deps.logger.warn({ app: app.name, reason: unschedulable }, 'cannot place instances');
      return;
    }
    if (d.outcome?.kind === 'failed') return this.fail(app, dep, d.outcome.reason);
    if (
      unschedulable !== undefined &&
      placed.length === 0 &&
      !instances.some((i) => i.release_id === releaseId)
    )
      return this.fail(app, dep, `cannot place the instances: ${unschedulable}`);
    if (d.outcome?.kind === 'succeeded') return this.succeed(app, dep);
    const pulling = instances.some((i) => i.release_id === releaseId && /^pulling/.test(i.message ?? ''));
    const phase = pulling && d.phase === 'starting' ? 'pulling' : d.phase === 'steady' ? 'starting' : d.phase;
    const message =
      phase === 'pulling'
        ? 'pulling the image on the nodes'
        : phase === 'starting'
          ? 'starting the new instances'
          : phase === 'health_checking'
            ? 'waiting for the health checks'
            : 'switching traffic to the new instances';
    if (await advanceDeployment(this.deps, this.deps.store.db, dep, phase, message))
      await this.parts.events.publish({
        orgId: app.org_id,
        type: `deployment.${phase}`,
        resource: 'deployments',
        id: dep.id,
        data: { app_id: app.id, status: phase, message },
      });
  }

  /** Asks the scheduler for `count` places among the nodes that may run this app. */
  private async place(
    app: AppsTable,
    releaseId: string,
    count: number,
    at: string,
  ): Promise<{ placed: InstancesTable[]; reason?: string }> {
    const db = this.deps.store.db;
    const release = await db
      .selectFrom('releases')
      .selectAll()
      .where('id', '=', releaseId)
      .executeTakeFirstOrThrow();
    const spec = releaseSpecOf(release);
    const nodeRows = await db
      .selectFrom('nodes')
      .selectAll()
      .where((eb) => eb.or([eb('org_id', '=', app.org_id), eb('shared', '=', 1)]))
      .execute();
    const running = await db
      .selectFrom('instances')
      .innerJoin('releases', 'releases.id', 'instances.release_id')
      .select(['instances.id', 'instances.app_id', 'instances.node_id', 'releases.spec'])
      .where('instances.desired', '=', 'running')
      .execute();
    const placedInstances: PlacedInstance[] = running.map((r) => {
      const s = JSON.parse(r.spec) as {
        runtime: string;
        resources: { memory_bytes: number; cpu_milli: number };
      };
      return {
        id: r.id,
        appId: r.app_id,
        nodeId: r.node_id,
        ...reservationOf(s.runtime, {
          memoryBytes: s.resources.memory_bytes,
          cpuMilli: s.resources.cpu_milli,
          diskBytes: 0,
        }),
      };
    });
    // An app with volumes runs where their data is: the node the first placement chose, from then on.
    const volumes = await db
      .selectFrom('volumes')
      .select(['name', 'node_id'])
      .where('app_id', '=', app.id)
      .where('mount_path', 'is not', null)
      .execute();
    const pins = volumes.filter((v) => v.node_id !== null);
    const pinned = [...new Set(pins.map((p) => p.node_id))];
    if (pinned.length > 1) {
      return {
        placed: [],
        reason: `the app's volumes hold their data on different nodes (${pinned.join(', ')})`,
      };
    }
    const home = pinned[0] === undefined ? undefined : nodeRows.find((n) => n.id === pinned[0]);
    if (pinned[0] !== undefined && home?.status !== 'ready') {
      const volume = pins[0]?.name ?? '';
      return {
        placed: [],
        reason: `volume ${volume} holds its data on node ${home?.name ?? pinned[0]}, which is ${home?.status ?? 'gone'}`,
      };
    }
    const request = (n: number, homeId: string | undefined) => ({
      appId: app.id,
      appName: app.name,
      count: n,
      runtime: spec.runtime,
      ...reservationOf(spec.runtime, {
        memoryBytes: spec.resources.memory_bytes,
        cpuMilli: spec.resources.cpu_milli,
        diskBytes: 0,
      }),
      ...(release.image_digest ? { imageDigest: release.image_digest } : {}),
      ...(homeId === undefined
        ? {}
        : { excludeNodes: nodeRows.filter((r) => r.id !== homeId).map((r) => r.id) }),
    });
    const snapshot = { nodes: nodeRows.map(nodeSnapshot), instances: placedInstances };
    // Volumes not on a node yet: the node the scheduler picks for one instance becomes their home for all of them.
    const homeId =
      home?.id ??
      (volumes.length > 0 && count > 1
        ? place(snapshot, [request(1, undefined)]).placements[0]?.nodeId
        : undefined);
    const plan = place(snapshot, [request(count, homeId)]);
    const placed = plan.placements.map((p): InstancesTable => ({
      id: newId(idPrefixes.instance),
      org_id: app.org_id,
      app_id: app.id,
      release_id: releaseId,
      node_id: p.nodeId,
      desired: 'running',
      routed: 0,
      unrouted_at: null,
      state: 'pending',
      health: 'unknown',
      address: null,
      message: null,
      created_at: at,
      updated_at: at,
    }));
    const failure = plan.failures[0];
    return failure ? { placed, reason: failure.reason } : { placed };
  }

  private async succeed(app: AppsTable, dep: DeploymentsTable): Promise<void> {
    await inTransaction(this.deps, async (tx) => {
      await finishDeployment(this.deps, tx, dep, 'succeeded', 'the new release serves');
      await tx
        .updateTable('apps')
        .set({
          current_release_id: dep.release_id,
          status: 'running',
          updated_at: this.deps.now().toISOString(),
        })
        .where('id', '=', app.id)
        .execute();
    });
    await this.parts.events.publish({
      orgId: app.org_id,
      type: 'deployment.succeeded',
      resource: 'deployments',
      id: dep.id,
      data: { app_id: app.id, status: 'succeeded' },
    });
  }

  /** The deployment ends; when an earlier release serves, it keeps serving and the deployment is rolled back. */
  private async fail(app: AppsTable, dep: DeploymentsTable, reason: string): Promise<void> {
    const status = app.current_release_id ? 'rolled_back' : 'failed';
    await inTransaction(this.deps, async (tx) => {
      await finishDeployment(this.deps, tx, dep, status, reason);
      await tx
        .updateTable('apps')
        .set({
          status: app.current_release_id ? 'running' : 'failed',
          updated_at: this.deps.now().toISOString(),
        })
        .where('id', '=', app.id)
        .execute();
    });
    await this.parts.events.publish({
      orgId: app.org_id,
      type: `deployment.${status}`,
      resource: 'deployments',
      id: dep.id,
      data: { app_id: app.id, status, reason },
    });
    this.parts.signal.wake(app.id);
  }
}

function nodeSnapshot(n: NodesTable): NodeSnapshot {
  return {
    id: n.id,
    name: n.name,
    zone: n.zone,
    status: n.status as NodeSnapshot['status'],
    runtimes: (JSON.parse(n.runtimes) as string[]).map((r) => (r === 'runc' ? 'container' : r)),
    capacity: { memoryBytes: n.memory_bytes, cpuMilli: n.cpu_milli, diskBytes: n.disk_bytes },
    images: [],
  };
}
