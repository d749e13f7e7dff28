import { PaasError, idPrefixes, newId } from '@shellwego/core';
import type { Release } from '@shellwego/core';
import type { Db } from './context.js';
import type { AppsTable, ReleasesTable } from '../store/schema.js';

/** What a release fixes for its instances, stored as JSON on the release row. */
export interface ReleaseSpec {
  runtime: string;
  env: Record<string, string>;
  resources: { memory_bytes: number; cpu_milli: number };
  replicas: number;
  port: number;
  health_check: { path: string; interval_ms: number; timeout_ms: number };
  secret_versions: Record<string, number>;
}

export function releaseSpecOf(row: ReleasesTable): ReleaseSpec {
  return JSON.parse(row.spec) as ReleaseSpec;
}

/** The app's settings as they stand, with its secrets' current versions: what a new release records. */
export async function specFromApp(db: Db, app: AppsTable): Promise<ReleaseSpec> {
  const secrets = await db
    .selectFrom('secrets')
    .select(['name', 'version'])
    .where('app_id', '=', app.id)
    .execute();
  return {
    runtime: app.runtime,
    env: JSON.parse(app.env) as Record<string, string>,
    resources: { memory_bytes: app.memory_bytes, cpu_milli: app.cpu_milli },
    replicas: app.replicas,
    port: app.port,
    health_check: { path: app.hc_path, interval_ms: app.hc_interval_ms, timeout_ms: app.hc_timeout_ms },
    secret_versions: Object.fromEntries(secrets.map((s) => [s.name, Number(s.version)])),
  };
}

/** Records the next release of an app (versions count up from 1 per app). Call inside a transaction. */
export async function recordRelease(
  tx: Db,
  app: AppsTable,
  input: { image: string; spec: ReleaseSpec; createdBy: string; now: string },
): Promise<ReleasesTable> {
  const bumped = await tx
    .updateTable('apps')
    .set((eb) => ({ release_seq: eb('release_seq', '+', 1) }))
    .where('id', '=', app.id)
    .returning('release_seq')
    .executeTakeFirstOrThrow();
  const row: ReleasesTable = {
    id: newId(idPrefixes.release),
    org_id: app.org_id,
    app_id: app.id,
    version: Number(bumped.release_seq),
    image: input.image,
    image_digest: null,
    spec: JSON.stringify(input.spec),
    created_by: input.createdBy,
    created_at: input.now,
  };
  await tx.insertInto('releases').values(row).execute();
  return row;
}

export async function releaseByVersion(db: Db, appId: string, version: number): Promise<ReleasesTable> {
  const row = await db
    .selectFrom('releases')
    .selectAll()
    .where('app_id', '=', appId)
    .where('version', '=', version)
    .executeTakeFirst();
  if (!row) throw new PaasError('RELEASE_NOT_FOUND', `release ${version} not found`, { field: 'release' });
  return row;
}

export function presentRelease(row: ReleasesTable, currentId: string | null | undefined): Release {
  const spec = releaseSpecOf(row);
  return {
    id: row.id,
    app_id: row.app_id,
    version: row.version,
    image: row.image,
    image_digest: row.image_digest,
    runtime: spec.runtime,
    env: spec.env,
    resources: spec.resources,
    replicas: spec.replicas,
    port: spec.port,
    health_check: spec.health_check,
    secret_versions: spec.secret_versions,
    current: row.id === currentId,
    created_at: row.created_at,
  };
}
