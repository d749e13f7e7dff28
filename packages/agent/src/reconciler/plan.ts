/**
 * The reconciler's decision, as a pure function: what the node must do to turn what runs (actual)
 * into what the control plane wants (desired). No I/O, no clock: the executor carries it out with
 * its own concurrency limits and backoff, and runs the plan again on every watch event and every 10 s.
 *
 *   desired only             → create
 *   actual only              → stop
 *   both, same spec          → nothing (or restart if it exited and the policy says so)
 *   both, different spec     → replace (stop the old, start the new)
 *
 * Secret values are not compared (the stored spec has none); their versions are.
 */
import { canonicalJson } from '@shellwego/core';
import { withoutSecrets } from './spec-form.js';

export interface DesiredInstance {
  instanceId: string;
  /** The spec the control plane sent; compared by value, whatever the key order, secret values aside. */
  spec: unknown;
  restartPolicy?: 'always' | 'on-failure' | 'never';
}

export interface ActualInstance {
  instanceId: string;
  /** The spec it was started from, as kept in the agent's state dir (without secret values). */
  spec: unknown;
  state: 'starting' | 'running' | 'exited' | 'oom-killed' | 'failed' | 'unknown';
  exitCode?: number | null;
}

export type Action =
  | { kind: 'create'; instanceId: string; spec: unknown }
  | { kind: 'replace'; instanceId: string; spec: unknown }
  | { kind: 'restart'; instanceId: string; spec: unknown; reason: string }
  | { kind: 'stop'; instanceId: string };

function shouldRestart(d: DesiredInstance, a: ActualInstance): string | null {
  if (a.state === 'running' || a.state === 'starting' || a.state === 'unknown') return null;
  const policy = d.restartPolicy ?? 'always';
  if (policy === 'never') return null;
  const failed = a.state !== 'exited' || (a.exitCode ?? 1) !== 0;
  if (policy === 'on-failure' && !failed) return null;
  return a.state === 'oom-killed'
    ? 'it was killed for exceeding its memory limit'
    : `it ${a.state} (exit code ${String(a.exitCode ?? 'unknown')})`;
}

/** Actions in a stable order: stops first (free resources), then replaces, restarts, creates. */
export function plan(desired: readonly DesiredInstance[], actual: readonly ActualInstance[]): Action[] {
  const running = new Map(actual.map((a) => [a.instanceId, a]));
  const wanted = new Map(desired.map((d) => [d.instanceId, d]));
  const stops: Action[] = [];
  const replaces: Action[] = [];
  const restarts: Action[] = [];
  const creates: Action[] = [];
  for (const a of actual)
    if (!wanted.has(a.instanceId)) stops.push({ kind: 'stop', instanceId: a.instanceId });
  for (const d of desired) {
    const a = running.get(d.instanceId);
    if (!a) {
      creates.push({ kind: 'create', instanceId: d.instanceId, spec: d.spec });
    } else if (canonicalJson(withoutSecrets(a.spec)) !== canonicalJson(withoutSecrets(d.spec))) {
      replaces.push({ kind: 'replace', instanceId: d.instanceId, spec: d.spec });
    } else {
      const reason = shouldRestart(d, a);
      if (reason) restarts.push({ kind: 'restart', instanceId: d.instanceId, spec: d.spec, reason });
    }
  }
  const byId = (x: Action, y: Action): number => x.instanceId.localeCompare(y.instanceId);
  return [...stops.sort(byId), ...replaces.sort(byId), ...restarts.sort(byId), ...creates.sort(byId)];
}
