import {
  PaasError,
  formatCpu,
  formatDuration,
  formatMemory,
  idPrefixes,
  isId,
  newId,
  parseCpu,
  parseDuration,
  parseMemory,
} from '@shellwego/core';
import type { App, AppPatch, PageQuery, Runtime } from '@shellwego/core';
import type { Actor, Db, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import type { AppsTable } from '../store/schema.js';
import { appendAudit, audited } from './audit.js';
import { authorize, can, visibleOrgIds } from './authz.js';
import { resolveOrg } from './orgs-lookup.js';
import { isUniqueViolation } from '../store/db.js';
import type { DeploymentService } from './deployments.js';
import type { RolloutSignal } from './rollout/signal.js';

interface RuntimeView {
  releases: Map<string, { id: string; version: number; image: string; image_digest: string | null }>;
  instances: Map<string, App['instances']>;
}

export const appDefaults = {
  memoryBytes: 256 * 1024 * 1024,
  cpuMilli: 500,
  healthPath: '/',
  healthIntervalMs: 10_000,
  healthTimeoutMs: 2_000,
} as const;

export interface AppCreateInput {
  name: string;
  org?: string | undefined;
  image?: string | undefined;
  runtime: Runtime;
  env?: Record<string, string> | undefined;
  resources?: { memory?: string | number | undefined; cpu?: string | number | undefined } | undefined;
  replicas: number;
  port: number;
  domain?: string | undefined;
  health_check?:
    { path?: string | undefined; interval?: string | undefined; timeout?: string | undefined } | undefined;
}

/** Finds an app by name or id among the actor's orgs; another tenant's app is APP_NOT_FOUND. */
export async function findApp(db: Db, actor: Actor, key: string): Promise<AppsTable> {
  const orgs = visibleOrgIds(actor);
  const row =
    orgs.length === 0
      ? undefined
      : await db
          .selectFrom('apps')
          .selectAll()
          .where('org_id', 'in', orgs)
          .where(isId(key, idPrefixes.app) ? 'id' : 'name', '=', key)
          .executeTakeFirst();
  if (!row) throw new PaasError('APP_NOT_FOUND', `app ${key} not found`);
  return row;
}

function healthCheck(
  hc: AppCreateInput['health_check'],
  base: { path: string; interval: number; timeout: number },
): { path: string; interval: number; timeout: number } {
  const out = {
    path: hc?.path ?? base.path,
    interval:
      hc?.interval === undefined ? base.interval : parseDuration(hc.interval, 'health_check.interval'),
    timeout: hc?.timeout === undefined ? base.timeout : parseDuration(hc.timeout, 'health_check.timeout'),
  };
  // Only an interval given, shorter than the timeout it had: the timeout follows it rather than refusing the change.
  if (hc?.timeout === undefined) out.timeout = Math.min(out.timeout, out.interval);
  if (out.timeout > out.interval) {
    throw new PaasError('VALIDATION_FAILED', 'health_check.timeout must not exceed health_check.interval', {
      field: 'health_check.timeout',
    });
  }
  return out;
}

/** What changes of an app mean for its instances: a new release, or only a different count. */
const deployingFields = ['image', 'runtime', 'env', 'resources', 'port', 'health_check'] as const;

export class AppService {
  constructor(
    private readonly deps: Deps,
    private readonly rollout: {
      deployments: DeploymentService;
      signal: RolloutSignal;
      /** Tells nodes their desired state changed (their instances went with a deleted app). */
      nodesChanged: (nodeIds: string[]) => Promise<void>;
    },
  ) {}

  async create(actor: Actor, input: AppCreateInput): Promise<App> {
    const org = await resolveOrg(this.deps.store.db, actor, input.org);
    authorize(actor, org.id, 'apps', 'write', '*');
    const hc = healthCheck(input.health_check, {
      path: appDefaults.healthPath,
      interval: appDefaults.healthIntervalMs,
      timeout: appDefaults.healthTimeoutMs,
    });
    const now = isoNow(this.deps);
    const row: AppsTable = {
      id: newId(idPrefixes.app),
      org_id: org.id,
      name: input.name,
      image: input.image ?? null,
      runtime: input.runtime,
      env: JSON.stringify(input.env ?? {}),
      memory_bytes:
        input.resources?.memory === undefined ? appDefaults.memoryBytes : parseMemory(input.resources.memory),
      cpu_milli: input.resources?.cpu === undefined ? appDefaults.cpuMilli : parseCpu(input.resources.cpu),
      replicas: input.replicas,
      port: input.port,
      hc_path: hc.path,
      hc_interval_ms: hc.interval,
      hc_timeout_ms: hc.timeout,
      // Stopped until its first deployment (below, when it has an image) moves it on.
      status: 'stopped',
      created_at: now,
      updated_at: now,
    };
    try {
      await inTransaction(this.deps, async (tx) => {
        await tx.insertInto('apps').values(row).execute();
        if (input.domain !== undefined) {
          await tx
            .insertInto('domains')
            .values({
              id: newId(idPrefixes.domain),
              org_id: org.id,
              app_id: row.id,
              hostname: input.domain,
              tls_status: 'pending',
              last_acme_error: null,
              created_at: now,
            })
            .execute();
        }
        await appendAudit(
          this.deps,
          tx,
          audited(actor, org.id, 'app.create', 'apps', row.id, {
            name: row.name,
            image: row.image,
            runtime: row.runtime,
            ...(input.domain === undefined ? {} : { domain: input.domain }),
          }),
        );
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        const hostTaken =
          input.domain !== undefined &&
          (await this.deps.store.db
            .selectFrom('domains')
            .select('id')
            .where('hostname', '=', input.domain)
            .executeTakeFirst());
        throw hostTaken
          ? new PaasError('ALREADY_EXISTS', `domain ${input.domain} is already in use`, { field: 'domain' })
          : new PaasError(
              'ALREADY_EXISTS',
              `app name ${input.name} is taken; app names are unique on this platform`,
              {
                field: 'name',
              },
            );
      }
      throw e;
    }
    // Creating an app with an image deploys it (API.md).
    if (row.image !== null) await this.rollout.deployments.deploy(actor, row.id, {});
    return this.get(actor, row.id);
  }

  async list(
    actor: Actor,
    page: PageQuery & { org?: string | undefined },
  ): Promise<{ items: App[]; next_cursor: string | null }> {
    // A token scoped to single apps (apps:read:app_…) lists nothing: filtering per row would cost a
    // query per app. It still reads those apps one by one.
    let orgs = visibleOrgIds(actor).filter((o) => can(actor, o, 'apps', 'read', '*'));
    if (page.org !== undefined) {
      const org = await resolveOrg(this.deps.store.db, actor, page.org);
      orgs = orgs.filter((o) => o === org.id);
    }
    if (orgs.length === 0) return { items: [], next_cursor: null };
    const limit = page.limit ?? 100;
    let q = this.deps.store.db.selectFrom('apps').selectAll().where('org_id', 'in', orgs);
    if (page.cursor !== undefined) q = q.where('id', '>', page.cursor);
    const rows = await q
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const pageRows = rows.slice(0, limit);
    const ids = pageRows.map((r) => r.id);
    const domains = await this.domainsOf(ids);
    const runtime = await this.runtimeOf(pageRows);
    return {
      items: pageRows.map((r) => this.present(r, domains.get(r.id) ?? [], runtime)),
      next_cursor: rows.length > limit ? (pageRows.at(-1)?.id ?? null) : null,
    };
  }

  async get(actor: Actor, key: string): Promise<App> {
    const row = await findApp(this.deps.store.db, actor, key);
    authorize(actor, row.org_id, 'apps', 'read', row.id);
    const domains = await this.domainsOf([row.id]);
    return this.present(row, domains.get(row.id) ?? [], await this.runtimeOf([row]));
  }

  async patch(actor: Actor, key: string, patch: AppPatch): Promise<App> {
    const result = await inTransaction(this.deps, async (tx) => {
      const row = await findApp(tx, actor, key);
      authorize(actor, row.org_id, 'apps', 'write', row.id);
      const hc = healthCheck(patch.health_check, {
        path: row.hc_path,
        interval: row.hc_interval_ms,
        timeout: row.hc_timeout_ms,
      });
      const next: AppsTable = {
        ...row,
        image: patch.image ?? row.image,
        runtime: patch.runtime ?? row.runtime,
        env: patch.env === undefined ? row.env : JSON.stringify(patch.env),
        memory_bytes:
          patch.resources?.memory === undefined ? row.memory_bytes : parseMemory(patch.resources.memory),
        cpu_milli: patch.resources?.cpu === undefined ? row.cpu_milli : parseCpu(patch.resources.cpu),
        replicas: patch.replicas ?? row.replicas,
        port: patch.port ?? row.port,
        hc_path: hc.path,
        hc_interval_ms: hc.interval,
        hc_timeout_ms: hc.timeout,
        updated_at: isoNow(this.deps),
      };
      await tx.updateTable('apps').set(next).where('id', '=', row.id).execute();
      const changed = Object.keys(patch).sort();
      await appendAudit(this.deps, tx, audited(actor, row.org_id, 'app.update', 'apps', row.id, { changed }));
      return next;
    });
    if (deployingFields.some((f) => patch[f] !== undefined) && result.image !== null) {
      await this.rollout.deployments.deploy(actor, result.id, {});
    } else if (patch.replicas !== undefined) {
      this.rollout.signal.wake(result.id);
    }
    return this.get(actor, result.id);
  }

  async delete(actor: Actor, key: string): Promise<void> {
    const nodes = await inTransaction(this.deps, async (tx) => {
      const row = await findApp(tx, actor, key);
      authorize(actor, row.org_id, 'apps', 'write', row.id);
      const placed = await tx
        .selectFrom('instances')
        .select('node_id')
        .where('app_id', '=', row.id)
        .execute();
      await tx.deleteFrom('apps').where('id', '=', row.id).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, row.org_id, 'app.delete', 'apps', row.id, { name: row.name }),
      );
      return [...new Set(placed.map((p) => p.node_id))];
    });
    // The instances went with the app's rows; their nodes stop them on the next desired state.
    await this.rollout.nodesChanged(nodes);
  }

  private async domainsOf(appIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (appIds.length === 0) return out;
    const rows = await this.deps.store.db
      .selectFrom('domains')
      .select(['app_id', 'hostname'])
      .where('app_id', 'in', appIds)
      .orderBy('created_at')
      .execute();
    for (const r of rows) out.set(r.app_id, [...(out.get(r.app_id) ?? []), r.hostname]);
    return out;
  }

  /** The current releases and the instances of these apps, in two queries whatever the page size. */
  private async runtimeOf(rows: AppsTable[]): Promise<RuntimeView> {
    const releaseIds = rows.flatMap((r) => (r.current_release_id ? [r.current_release_id] : []));
    const appIds = rows.map((r) => r.id);
    const db = this.deps.store.db;
    const releases =
      releaseIds.length === 0
        ? []
        : await db
            .selectFrom('releases')
            .select(['id', 'version', 'image', 'image_digest'])
            .where('id', 'in', releaseIds)
            .execute();
    const instances =
      appIds.length === 0
        ? []
        : await db
            .selectFrom('instances')
            .innerJoin('releases', 'releases.id', 'instances.release_id')
            .select([
              'instances.id',
              'instances.app_id',
              'instances.node_id',
              'instances.state',
              'instances.health',
              'instances.routed',
              'instances.address',
              'instances.message',
              'releases.version',
            ])
            .where('instances.app_id', 'in', appIds)
            .where('instances.desired', '=', 'running')
            .orderBy('instances.created_at')
            .execute();
    const byApp = new Map<string, App['instances']>();
    for (const i of instances) {
      const view = {
        id: i.id,
        node_id: i.node_id,
        release: i.version,
        state: i.state,
        health: i.health,
        routed: i.routed === 1,
        address: i.address,
        message: i.message,
      };
      byApp.set(i.app_id, [...(byApp.get(i.app_id) ?? []), view]);
    }
    return { releases: new Map(releases.map((r) => [r.id, r])), instances: byApp };
  }

  private present(row: AppsTable, domains: string[], runtime: RuntimeView): App {
    const release = row.current_release_id ? runtime.releases.get(row.current_release_id) : undefined;
    const first = domains[0];
    return {
      id: row.id,
      name: row.name,
      org_id: row.org_id,
      image: row.image,
      runtime: row.runtime as Runtime,
      env: JSON.parse(row.env) as Record<string, string>,
      resources: {
        memory: formatMemory(row.memory_bytes),
        cpu: formatCpu(row.cpu_milli),
        memory_bytes: row.memory_bytes,
        cpu_milli: row.cpu_milli,
      },
      replicas: row.replicas,
      port: row.port,
      health_check: {
        path: row.hc_path,
        interval: formatDuration(row.hc_interval_ms),
        timeout: formatDuration(row.hc_timeout_ms),
      },
      domains,
      status: row.status as App['status'],
      url: first ? `https://${first}` : `http://${row.name}.${this.deps.settings.domain}`,
      release: release ?? null,
      instances: runtime.instances.get(row.id) ?? [],
      created_at: row.created_at,
      updated_at: row.updated_at,
    };
  }
}
