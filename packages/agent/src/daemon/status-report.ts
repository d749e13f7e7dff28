import { schemas, type NodeInstanceStatus } from '@shellwego/core';
import type { LogLine } from '@shellwego/driver-sdk';
import type { HealthBoard, HealthTarget } from '../health/health-board.js';
import type { ActualInstance } from '../reconciler/plan.js';
import { instanceStatus } from './instance-status.js';

/** What the report needs of the executor. */
export interface StatusSource {
  condition(instanceId: string): { status: 'ok' | 'backoff' | 'crash-loop' };
  networkOf(instanceId: string): Promise<{ ip: string } | null>;
  logTail(instanceId: string, count: number): Promise<LogLine[]>;
}

const MESSAGE_MAX = 4096;
const DETAIL_MAX = 512;
const LOG_LINES = 10;
const LOG_LINE_MAX = 300;

/** The stored spec's part the health check needs; records without it (older agents) are not checked. */
const storedCheck = schemas.instanceWireSpec.pick({ port: true, health_check: true });

/** The health check of one instance at `ip`, from its stored (wire) spec; undefined when that carries none. */
export function healthTargetOf(instanceId: string, spec: unknown, ip: string): HealthTarget | undefined {
  const parsed = storedCheck.safeParse(spec);
  if (!parsed.success) return undefined;
  const { port, health_check: hc } = parsed.data;
  return { instanceId, ip, port, path: hc.path, intervalMs: hc.interval_ms, timeoutMs: hc.timeout_ms };
}

/** The health check of each running instance whose stored spec carries one. */
export async function healthTargets(
  actual: readonly ActualInstance[],
  src: StatusSource,
): Promise<HealthTarget[]> {
  const targets: HealthTarget[] = [];
  for (const a of actual) {
    if (a.state !== 'running') continue;
    const ip = (await src.networkOf(a.instanceId))?.ip;
    const target = ip === undefined ? undefined : healthTargetOf(a.instanceId, a.spec, ip);
    if (target !== undefined) targets.push(target);
  }
  return targets;
}

/**
 * Every instance as the control plane should see it: the driver's state, health, address (the IP; the control plane
 * appends the port), and a message saying what is wrong (backoff, failing check, last log lines) when something is.
 * `busy` is the executor's inProgress(), taken when the report began: instances still pulling their image have no
 * record yet and are reported `pending` with it.
 */
export async function instanceStatuses(
  actual: readonly ActualInstance[],
  busy: ReadonlyMap<string, string>,
  src: StatusSource,
  health: HealthBoard,
  appOf: ReadonlyMap<string, string>,
  /** Desired instances whose start failed (no record): reported `failed` with the reason, not left pending. */
  startFailures: ReadonlyMap<string, string> = new Map(),
): Promise<NodeInstanceStatus[]> {
  const out: NodeInstanceStatus[] = [];
  for (const a of actual) {
    const cond = src.condition(a.instanceId);
    const status = instanceStatus(a, {
      appId: appOf.get(a.instanceId),
      address: (await src.networkOf(a.instanceId))?.ip,
      condition: cond.status === 'ok' ? undefined : cond.status,
    });
    const notes = [busy.get(a.instanceId), status.message];
    const h = health.health(a.instanceId);
    if (status.state === 'running') status.health = h?.status ?? 'unknown';
    if (status.health === 'unhealthy' && h !== undefined)
      notes.push(`health check failing: ${cut(h.detail, DETAIL_MAX)}`);
    if (status.health === 'unhealthy' || status.state === 'failed' || status.state === 'stopped')
      notes.push(logNote(await src.logTail(a.instanceId, LOG_LINES)));
    const message = notes.filter((n) => n !== undefined && n !== '').join('\n');
    if (message === '') delete status.message;
    else status.message = cut(message, MESSAGE_MAX);
    out.push(status);
  }
  const recorded = new Set(actual.map((a) => a.instanceId));
  for (const [id, reason] of startFailures) {
    if (recorded.has(id) || busy.has(id) || !appOf.has(id)) continue;
    out.push({
      id,
      state: 'failed',
      message: cut(`start failed: ${reason}`, MESSAGE_MAX),
      app_id: appOf.get(id) ?? '',
    });
  }
  for (const [id, message] of busy) {
    if (recorded.has(id)) continue;
    const appId = appOf.get(id);
    out.push({
      id,
      state: 'pending',
      message: cut(message, MESSAGE_MAX),
      ...(appId ? { app_id: appId } : {}),
    });
  }
  return out;
}

function logNote(lines: readonly LogLine[]): string {
  if (lines.length === 0) return '';
  return ['last output:', ...lines.map((l) => cut(l.line, LOG_LINE_MAX))].join('\n');
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
