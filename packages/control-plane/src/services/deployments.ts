import {
  PaasError,
  finishedDeploymentStatuses,
  schemas,
  idPrefixes,
  newId,
  parseCpu,
  parseDuration,
  parseMemory,
} from '@shellwego/core';
import type { Deployment, DeploymentCreate, DeploymentStatus, Release, Strategy } from '@shellwego/core';
import type { Transaction } from 'kysely';
import type { Actor, Db, Deps } from './context.js';
import { actorLabel, inTransaction, isoNow } from './context.js';
import { appendAudit, audited } from './audit.js';
import { authorize, visibleOrgIds } from './authz.js';
import { findApp } from './apps.js';
import { assertArtifact } from './artifacts.js';
import type { EventService } from './events.js';
import { presentRelease, recordRelease, releaseByVersion, releaseSpecOf, specFromApp } from './releases.js';
import type { RolloutSignal } from './rollout/signal.js';
import type { AppsTable, Database, DeploymentsTable, ReleasesTable } from '../store/schema.js';

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

interface Step {
  at: string;
  status: DeploymentStatus;
  message: string;
}

export function present(row: DeploymentsTable, version: number): Deployment {
  return {
    id: row.id,
    app_id: row.app_id,
    release: version,
    release_id: row.release_id,
    strategy: row.strategy as Strategy,
    status: row.status as DeploymentStatus,
    reason: row.reason,
    steps: JSON.parse(row.steps) as Step[],
    created_at: row.created_at,
    updated_at: row.updated_at,
    finished_at: row.finished_at,
  };
}

export const isFinished = (status: string): boolean =>
  (finishedDeploymentStatuses as readonly string[]).includes(status);

/** Releases and deployments: what `shellwego deploy`, `rollback` and `releases` ask for. The rollout runs elsewhere. */
export class DeploymentService {
  constructor(
    private readonly deps: Deps,
    private readonly events: EventService,
    private readonly signal: RolloutSignal,
  ) {}

  /** Records a release from the app's settings (with `input`'s changes applied) and a deployment of it. */
  async deploy(actor: Actor, appKey: string, input: DeploymentCreate): Promise<Deployment> {
    const timeoutMs =
      input.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(input.timeout, 'timeout');
    const result = await inTransaction(this.deps, async (tx) => {
      const app = await findApp(tx, actor, appKey);
      authorize(actor, app.org_id, 'apps', 'write', app.id);
      const next: AppsTable = {
        ...app,
        image: input.image ?? app.image,
        runtime: input.runtime ?? app.runtime,
        env: input.env === undefined ? app.env : JSON.stringify(input.env),
        memory_bytes:
          input.resources?.memory === undefined ? app.memory_bytes : parseMemory(input.resources.memory),
        cpu_milli: input.resources?.cpu === undefined ? app.cpu_milli : parseCpu(input.resources.cpu),
        updated_at: isoNow(this.deps),
      };
      if (next.image === null)
        throw new PaasError('NOTHING_TO_DEPLOY', `app ${app.name} has no image yet; deploy with an image`, {
          field: 'image',
        });
      await assertRunnable(tx, next.org_id, next.runtime, next.image);
      await tx
        .updateTable('apps')
        .set({
          image: next.image,
          runtime: next.runtime,
          env: next.env,
          memory_bytes: next.memory_bytes,
          cpu_milli: next.cpu_milli,
        })
        .where('id', '=', app.id)
        .execute();
      const release = await recordRelease(tx, next, {
        image: next.image,
        spec: await specFromApp(tx, next),
        createdBy: actorLabel(actor),
        now: isoNow(this.deps),
      });
      return this.start(tx, actor, next, release, input.strategy, timeoutMs, `deploy ${next.image}`);
    });
    await this.announce(result);
    return result.deployment;
  }

  /** Deploys a copy of an earlier release as a new one (as Heroku does): default the one before the current. */
  async rollback(actor: Actor, appKey: string, version: number | undefined): Promise<Deployment> {
    const result = await inTransaction(this.deps, async (tx) => {
      const app = await findApp(tx, actor, appKey);
      authorize(actor, app.org_id, 'apps', 'write', app.id);
      const target = version ?? (await this.previousVersion(tx, app));
      const old = await releaseByVersion(tx, app.id, target);
      const spec = releaseSpecOf(old);
      await tx
        .updateTable('apps')
        .set({
          image: old.image,
          env: JSON.stringify(spec.env),
          memory_bytes: spec.resources.memory_bytes,
          cpu_milli: spec.resources.cpu_milli,
        })
        .where('id', '=', app.id)
        .execute();
      const release = await recordRelease(tx, app, {
        image: old.image,
        spec: { ...spec, replicas: app.replicas },
        createdBy: actorLabel(actor),
        now: isoNow(this.deps),
      });
      if (old.image_digest !== null)
        await tx
          .updateTable('releases')
          .set({ image_digest: old.image_digest })
          .where('id', '=', release.id)
          .execute();
      return this.start(
        tx,
        actor,
        app,
        release,
        undefined,
        DEFAULT_TIMEOUT_MS,
        `rollback to release ${target}`,
      );
    });
    await this.announce(result);
    return result.deployment;
  }

  async get(actor: Actor, id: string): Promise<Deployment> {
    const row = await this.find(this.deps.store.db, actor, id);
    authorize(actor, row.org_id, 'apps', 'read', row.app_id);
    return present(row, await this.versionOf(this.deps.store.db, row.release_id));
  }

  async listForApp(actor: Actor, appKey: string): Promise<Deployment[]> {
    const app = await findApp(this.deps.store.db, actor, appKey);
    authorize(actor, app.org_id, 'apps', 'read', app.id);
    const rows = await this.deps.store.db
      .selectFrom('deployments')
      .innerJoin('releases', 'releases.id', 'deployments.release_id')
      .selectAll('deployments')
      .select('releases.version')
      .where('deployments.app_id', '=', app.id)
      .orderBy('deployments.created_at', 'desc')
      .limit(100)
      .execute();
    return rows.map((r) => present(r, r.version));
  }

  async cancel(actor: Actor, id: string): Promise<Deployment> {
    const row = await inTransaction(this.deps, async (tx) => {
      const dep = await this.find(tx, actor, id);
      authorize(actor, dep.org_id, 'apps', 'write', dep.app_id);
      if (isFinished(dep.status))
        throw new PaasError('DEPLOYMENT_FINISHED', `deployment ${dep.id} already ${dep.status}`);
      const done = await finishDeployment(
        this.deps,
        tx,
        dep,
        'cancelled',
        `cancelled by ${actorLabel(actor)}`,
      );
      await appendAudit(
        this.deps,
        tx,
        audited(actor, dep.org_id, 'deployment.cancel', 'deployments', dep.id),
      );
      return done;
    });
    await this.events.publish({
      orgId: row.org_id,
      type: 'deployment.cancelled',
      resource: 'deployments',
      id: row.id,
      data: { app_id: row.app_id, reason: row.reason },
    });
    this.signal.wake(row.app_id);
    return present(row, await this.versionOf(this.deps.store.db, row.release_id));
  }

  async releases(actor: Actor, appKey: string): Promise<Release[]> {
    const app = await findApp(this.deps.store.db, actor, appKey);
    authorize(actor, app.org_id, 'apps', 'read', app.id);
    const rows = await this.deps.store.db
      .selectFrom('releases')
      .selectAll()
      .where('app_id', '=', app.id)
      .orderBy('version', 'desc')
      .limit(100)
      .execute();
    return rows.map((r) => presentRelease(r, app.current_release_id));
  }

  private async start(
    tx: Transaction<Database>,
    actor: Actor,
    app: AppsTable,
    release: ReleasesTable,
    strategy: Strategy | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<{ deployment: Deployment; orgId: string; superseded: string[] }> {
    const now = this.deps.now();
    const at = now.toISOString();
    // One rollout per app at a time: a new deploy supersedes the running one, whose instances then leave.
    const running = await tx
      .selectFrom('deployments')
      .selectAll()
      .where('app_id', '=', app.id)
      .where('finished_at', 'is', null)
      .execute();
    for (const r of running)
      await finishDeployment(this.deps, tx, r, 'cancelled', 'superseded by a newer deployment');
    const steps: Step[] = [{ at, status: 'pending', message: `${what}: release ${release.version}` }];
    const row: DeploymentsTable = {
      id: newId(idPrefixes.deployment),
      org_id: app.org_id,
      app_id: app.id,
      release_id: release.id,
      from_release_id: app.current_release_id ?? null,
      strategy: strategy ?? (app.replicas <= 1 ? 'bluegreen' : 'rolling'),
      status: 'pending',
      reason: null,
      steps: JSON.stringify(steps),
      deadline_at: new Date(now.getTime() + timeoutMs).toISOString(),
      created_by: actorLabel(actor),
      created_at: at,
      updated_at: at,
      finished_at: null,
    };
    await tx.insertInto('deployments').values(row).execute();
    await tx
      .updateTable('apps')
      .set({ status: 'deploying', updated_at: at })
      .where('id', '=', app.id)
      .execute();
    await appendAudit(
      this.deps,
      tx,
      audited(actor, app.org_id, 'deployment.create', 'deployments', row.id, {
        app: app.name,
        release: release.version,
        image: release.image,
      }),
    );
    return {
      deployment: present(row, release.version),
      orgId: app.org_id,
      superseded: running.map((r) => r.id),
    };
  }

  private async announce(r: { deployment: Deployment; orgId: string }): Promise<void> {
    await this.events.publish({
      orgId: r.orgId,
      type: 'deployment.created',
      resource: 'deployments',
      id: r.deployment.id,
      data: { app_id: r.deployment.app_id, release: r.deployment.release, status: r.deployment.status },
    });
    this.signal.wake(r.deployment.app_id);
  }

  private async previousVersion(db: Db, app: AppsTable): Promise<number> {
    const current = app.current_release_id
      ? await db
          .selectFrom('releases')
          .select('version')
          .where('id', '=', app.current_release_id)
          .executeTakeFirst()
      : undefined;
    const before = await db
      .selectFrom('releases')
      .select('version')
      .where('app_id', '=', app.id)
      .where('version', '<', current?.version ?? Number.MAX_SAFE_INTEGER)
      .orderBy('version', 'desc')
      .executeTakeFirst();
    if (!before)
      throw new PaasError('RELEASE_NOT_FOUND', `app ${app.name} has no earlier release to roll back to`, {
        field: 'release',
      });
    return before.version;
  }

  private async find(db: Db, actor: Actor, id: string): Promise<DeploymentsTable> {
    const orgs = visibleOrgIds(actor);
    const row =
      orgs.length === 0
        ? undefined
        : await db
            .selectFrom('deployments')
            .selectAll()
            .where('org_id', 'in', orgs)
            .where('id', '=', id)
            .executeTakeFirst();
    if (!row) throw new PaasError('DEPLOYMENT_NOT_FOUND', `deployment ${id} not found`);
    return row;
  }

  private async versionOf(db: Db, releaseId: string): Promise<number> {
    const r = await db
      .selectFrom('releases')
      .select('version')
      .where('id', '=', releaseId)
      .executeTakeFirstOrThrow();
    return r.version;
  }
}

/** Ends a deployment with a final status and the reason; the controller and cancel both use it. */
export async function finishDeployment(
  deps: Deps,
  db: Db,
  dep: DeploymentsTable,
  status: DeploymentStatus,
  reason: string | null,
): Promise<DeploymentsTable> {
  const at = isoNow(deps);
  const steps = [...(JSON.parse(dep.steps) as Step[]), { at, status, message: reason ?? status }];
  const next = { ...dep, status, reason, steps: JSON.stringify(steps), updated_at: at, finished_at: at };
  await db
    .updateTable('deployments')
    .set({ status, reason, steps: next.steps, updated_at: at, finished_at: at })
    .where('id', '=', dep.id)
    .execute();
  return next;
}

/** Appends a step when the deployment moves on (the controller calls it on every phase change). */
export async function advanceDeployment(
  deps: Deps,
  db: Db,
  dep: DeploymentsTable,
  status: DeploymentStatus,
  message: string,
): Promise<boolean> {
  if (dep.status === status) return false;
  const at = isoNow(deps);
  const steps = [...(JSON.parse(dep.steps) as Step[]), { at, status, message }];
  await db
    .updateTable('deployments')
    .set({ status, steps: JSON.stringify(steps), updated_at: at })
    .where('id', '=', dep.id)
    .execute();
  return true;
}

/**
 * A wasm release names an uploaded module by its digest; any other runtime an image reference. Checked before a
 * release is recorded, so a typo fails the deploy at once instead of on every node.
 */
async function assertRunnable(tx: Db, orgId: string, runtime: string, image: string): Promise<void> {
  const isDigest = schemas.sha256Digest.safeParse(image).success;
  if (runtime === 'wasm') {
    if (!isDigest)
      throw new PaasError(
        'VALIDATION_FAILED',
        `image: a wasm app runs an uploaded module; got ${image}, not sha256:<digest>`,
        {
          field: 'image',
          hint: 'shellwego deploy APP --runtime wasm FILE.wasm uploads the module and deploys it',
        },
      );
    await assertArtifact(tx, orgId, image);
  } else if (isDigest) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `image: ${image} is a module digest; a ${runtime} app needs an image reference`,
      {
        field: 'image',
      },
    );
  }
}
