import { sql } from 'kysely';
import { schemas } from '@shellwego/core';
import type { z } from 'zod';
import type { Actor, Deps } from './context.js';
import { findApp } from './apps.js';
import { authorize } from './authz.js';
import type { AppMetricsTable, LatencyColumn } from '../store/schema.js';
import { LATENCY_COLUMNS } from '../store/migrations/0006-app-metrics.js';

type EdgeMetricsReport = z.infer<typeof schemas.edgeMetricsReport>;
type AppMetrics = z.input<typeof schemas.appMetrics>;
type AppMetricsPoint = z.input<typeof schemas.appMetricsPoint>;
type MetricsWindow = z.infer<typeof schemas.metricsWindow>;

/** What one node reported for one app: its instances' memory and CPU, summed; null where no instance told. */
export interface AppUsage {
  memoryBytes: number | null;
  cpuMilli: number | null;
}

/** Samples older than this are deleted. */
const METRICS_RETENTION_MINUTES = 48 * 60;
/** Retention runs at most this often, on the back of a report (no timer to stop). */
const PRUNE_EVERY_MS = 10 * 60_000;
/** Rows per INSERT: well under SQLite's bound on statement variables (20 columns a row). */
const CHUNK = 500;

const windows: Record<MetricsWindow, { minutes: number; stepMinutes: number }> = {
  '1h': { minutes: 60, stepMinutes: 1 },
  '6h': { minutes: 360, stepMinutes: 5 },
  '24h': { minutes: 1440, stepMinutes: 15 },
};

const BOUNDS = schemas.LATENCY_BUCKETS_MS;
// The template literal cannot be checked against the union by the compiler; i runs over exactly 0…12.
const latencyColumns = Array.from({ length: LATENCY_COLUMNS }, (_, i) => `lat_${i}` as LatencyColumn);

/** The latency columns of one row, from counts per bucket (missing ones are 0). */
function latencyValues(buckets: readonly number[]): Record<LatencyColumn, number> {
  // Built key by key from latencyColumns, which lists every LatencyColumn once.
  return Object.fromEntries(latencyColumns.map((c, i) => [c, buckets[i] ?? 0])) as Record<
    LatencyColumn,
    number
  >;
}

if (BOUNDS.length + 1 !== LATENCY_COLUMNS) {
  // The buckets are part of the stored format: changing them needs a migration, not just a new list.
  throw new Error(
    `LATENCY_BUCKETS_MS has ${BOUNDS.length} bounds but app_metrics stores ${LATENCY_COLUMNS - 1}`,
  );
}

const EDGE_SOURCE = 'edge';
const nodeSource = (nodeId: string): string => `node:${nodeId}`;

/**
 * Per-app metrics over time: the edges' traffic and the nodes' memory and CPU, one row per app, minute and source,
 * kept for 48 hours. Samples land in the minute the control plane receives them (edge and node clocks are not
 * trusted), so a report covers at most its own interval late.
 */
export class MetricsService {
  private lastPrune = 0;

  constructor(private readonly deps: Deps) {}

  private minuteNow(): number {
    return Math.floor(this.deps.now().getTime() / 60_000);
  }

  /** Adds an edge's traffic since its last report to this minute's samples; apps the platform does not know are skipped. */
  async recordEdge(report: EdgeMetricsReport): Promise<void> {
    const byName = new Map<string, EdgeMetricsReport['apps'][number]>();
    for (const a of report.apps) {
      // One row per app per statement (PostgreSQL refuses to update a row twice in one upsert): merge repeats.
      const seen = byName.get(a.app);
      byName.set(
        a.app,
        seen
          ? {
              app: a.app,
              requests: seen.requests + a.requests,
              errors: seen.errors + a.errors,
              duration_ms_sum: seen.duration_ms_sum + a.duration_ms_sum,
              buckets: seen.buckets.map((n, i) => n + (a.buckets[i] ?? 0)),
            }
          : a,
      );
    }
    const names = [...byName.keys()];
    if (names.length === 0) return;
    const minute = this.minuteNow();
    const db = this.deps.store.db;
    for (let i = 0; i < names.length; i += CHUNK) {
      const apps = await db
        .selectFrom('apps')
        .select(['id', 'name'])
        .where('name', 'in', names.slice(i, i + CHUNK))
        .execute();
      const rows: AppMetricsTable[] = apps.map(({ id, name }) => {
        // The query asked for exactly these names.
        const a = byName.get(name)!;
        return {
          app_id: id,
          minute,
          source: EDGE_SOURCE,
          requests: a.requests,
          errors: a.errors,
          duration_ms_sum: a.duration_ms_sum,
          memory_bytes: null,
          cpu_milli: null,
          ...latencyValues(a.buckets),
        };
      });
      if (rows.length === 0) continue;
      const added = (c: 'requests' | 'errors' | 'duration_ms_sum' | LatencyColumn) =>
        sql<number>`${sql.ref(`app_metrics.${c}`)} + ${sql.ref(`excluded.${c}`)}`;
      await db
        .insertInto('app_metrics')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['app_id', 'minute', 'source']).doUpdateSet({
            requests: added('requests'),
            errors: added('errors'),
            duration_ms_sum: added('duration_ms_sum'),
            ...Object.fromEntries(latencyColumns.map((c) => [c, added(c)])),
          }),
        )
        .execute();
    }
    await this.pruneNowAndThen();
  }

  /**
   * Sets this minute's memory and CPU of each app on one node. A node reports every ~10 s: the last report of the
   * minute stands, and a repeated report changes nothing. `usage` holds only apps whose rows the control plane
   * placed on that node (never what the node claims about other apps).
   */
  async recordNodeUsage(nodeId: string, usage: ReadonlyMap<string, AppUsage>): Promise<void> {
    const minute = this.minuteNow();
    const rows: AppMetricsTable[] = [...usage].map(([appId, u]) => {
      return {
        app_id: appId,
        minute,
        source: nodeSource(nodeId),
        requests: 0,
        errors: 0,
        duration_ms_sum: 0,
        memory_bytes: u.memoryBytes,
        cpu_milli: u.cpuMilli,
        ...latencyValues([]),
      };
    });
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.deps.store.db
        .insertInto('app_metrics')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc.columns(['app_id', 'minute', 'source']).doUpdateSet({
            memory_bytes: sql<number | null>`excluded.memory_bytes`,
            cpu_milli: sql<number | null>`excluded.cpu_milli`,
          }),
        )
        .execute();
    }
    await this.pruneNowAndThen();
  }

  /** The app's metrics over `window`, one point per step, oldest first; whoever may read the app may read them. */
  async forApp(actor: Actor, key: string, window: MetricsWindow): Promise<AppMetrics> {
    const app = await findApp(this.deps.store.db, actor, key);
    authorize(actor, app.org_id, 'apps', 'read', app.id);
    const { minutes, stepMinutes } = windows[window];
    const steps = minutes / stepMinutes;
    const last = Math.floor(this.minuteNow() / stepMinutes) * stepMinutes;
    const first = last - (steps - 1) * stepMinutes;
    const rows = await this.deps.store.db
      .selectFrom('app_metrics')
      .selectAll()
      .where('app_id', '=', app.id)
      .where('minute', '>=', first)
      .execute();

    const traffic = Array.from({ length: steps }, () => ({
      requests: 0,
      errors: 0,
      buckets: new Array<number>(LATENCY_COLUMNS).fill(0),
    }));
    // Gauges: summed over sources within a minute, then averaged over the minutes of a step that have any.
    const memory = new Map<number, number>();
    const cpu = new Map<number, number>();
    for (const r of rows) {
      const step = Math.floor((Number(r.minute) - first) / stepMinutes);
      const t = traffic[step];
      if (t === undefined) continue;
      t.requests += Number(r.requests);
      t.errors += Number(r.errors);
      latencyColumns.forEach((c, b) => (t.buckets[b]! += Number(r[c])));
      const minute = Number(r.minute);
      if (r.memory_bytes !== null) memory.set(minute, (memory.get(minute) ?? 0) + Number(r.memory_bytes));
      if (r.cpu_milli !== null) cpu.set(minute, (cpu.get(minute) ?? 0) + Number(r.cpu_milli));
    }
    const stepAverage = (byMinute: Map<number, number>, start: number): number | null => {
      let sum = 0;
      let n = 0;
      for (let m = start; m < start + stepMinutes; m++) {
        const v = byMinute.get(m);
        if (v === undefined) continue;
        sum += v;
        n++;
      }
      return n === 0 ? null : Math.round(sum / n);
    };
    const points: AppMetricsPoint[] = traffic.map((t, i) => {
      const start = first + i * stepMinutes;
      return {
        at: new Date(start * 60_000).toISOString(),
        requests: t.requests,
        errors: t.errors,
        latency_p50_ms: quantile(t.buckets, 0.5),
        latency_p95_ms: quantile(t.buckets, 0.95),
        memory_bytes: stepAverage(memory, start),
        cpu_milli: stepAverage(cpu, start),
      };
    });
    return { app_id: app.id, window, step_seconds: stepMinutes * 60, points };
  }

  /** Deletes samples older than the retention; returns how many went. */
  async prune(): Promise<number> {
    this.lastPrune = this.deps.now().getTime();
    const result = await this.deps.store.db
      .deleteFrom('app_metrics')
      .where('minute', '<', this.minuteNow() - METRICS_RETENTION_MINUTES)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private async pruneNowAndThen(): Promise<void> {
    if (this.deps.now().getTime() - this.lastPrune < PRUNE_EVERY_MS) return;
    const deleted = await this.prune();
    if (deleted > 0) this.deps.logger.debug({ deleted }, 'old metric samples deleted');
  }
}

/**
 * The q-quantile of requests counted per latency bucket, interpolated linearly inside its bucket (as Prometheus'
 * histogram_quantile does); a quantile in the overflow bucket is reported as the last bound. Null without requests.
 */
function quantile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const target = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (count > 0 && below + count >= target) {
      const upper = BOUNDS[i];
      if (upper === undefined) return BOUNDS[BOUNDS.length - 1]!;
      const lower = i === 0 ? 0 : BOUNDS[i - 1]!;
      return Math.round((lower + ((upper - lower) * (target - below)) / count) * 10) / 10;
    }
    below += count;
  }
  return BOUNDS[BOUNDS.length - 1]!;
}
