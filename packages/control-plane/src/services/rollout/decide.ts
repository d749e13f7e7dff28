/**
 * The rollout controller's decision for one app, as a pure function of what the store says: which instances to
 * start, route, unroute and stop, and whether the running deployment succeeded or failed. The controller calls it
 * on every tick and on every status report; being level-triggered, a restarted control plane simply resumes.
 *
 * The rules that make a deploy never go down (issue 6):
 * - a new instance is routed only once it is running and healthy;
 * - an old instance is unrouted only when enough healthy new ones are routed to keep `replicas` serving
 *   (max unavailable 0), and stopped only after the edge had `drainMs` to stop sending it requests;
 * - rolling starts one new instance at a time (max surge 1); blue-green starts all of them and switches at once.
 */

export interface InstanceView {
  id: string;
  releaseId: string;
  /** Placed by the running deployment (its failures fail the deployment). */
  fromDeployment: boolean;
  routed: boolean;
  /** ms since the epoch it was unrouted; null while routed or never routed. */
  unroutedAt: number | null;
  createdAt: number;
  /** ms since the epoch its node last reported a change of state. */
  stateSince: number;
  state: string;
  health: string;
  message: string | null;
  /** Its node is ready (an unreachable node's instances are as good as gone). */
  nodeReady: boolean;
}

export interface AppView {
  replicas: number;
  /** What should serve: the running deployment's release, else the current one; null: nothing at all. */
  targetReleaseId: string | null;
  deploying: boolean;
  strategy: 'rolling' | 'bluegreen';
  healthIntervalMs: number;
}

export interface Decision {
  /** New instances of the target release to place. */
  start: number;
  route: string[];
  unroute: string[];
  /** Instances to take off their nodes for good. */
  stop: string[];
  /** The deployment's outcome, when this pass settles it. */
  outcome?: { kind: 'succeeded' } | { kind: 'failed'; reason: string };
  /** What the deployment waits for, for its step log. */
  phase: 'starting' | 'health_checking' | 'switching' | 'steady';
}

export interface DecideOptions {
  now: number;
  /** How long the edge gets to stop routing to an unrouted instance before it is stopped. */
  drainMs: number;
  /** How long a new instance may stay unhealthy before the deployment fails. */
  healthGraceMs: number;
  /**
   * How long an instance may stay exited before it is replaced elsewhere. Its agent restarts it (restart policy
   * `always`) well within that; replacing it at once would race the restart and run one instance too many.
   */
  restartGraceMs: number;
}

/**
 * A guest kernel boots before a microVM's app listens: well under a second on KVM, but 2.5 s on a quiet machine
 * under TCG emulation and several times that on a busy one (issue 8 allows 20 s a boot). Failing its health checks
 * for that long is not a failed deploy.
 */
export const MICROVM_BOOT_GRACE_MS = 60_000;

/**
 * How long a new instance of a release may stay unhealthy before its deployment fails: the configured floor, five
 * checks' worth when the check interval is slow, and a boot's worth for a microVM.
 */
export function healthGraceOf(
  floorMs: number,
  spec: { runtime: string; health_check: { interval_ms: number } } | undefined,
): number {
  if (spec === undefined) return floorMs;
  const boot = spec.runtime === 'microvm' ? MICROVM_BOOT_GRACE_MS : 0;
  return Math.max(floorMs, 5 * spec.health_check.interval_ms, boot);
}

const exited = (i: InstanceView): boolean =>
  i.state === 'failed' || i.state === 'stopped' || i.state === 'exited';
const crashLooping = (i: InstanceView): boolean => /crash-loop/.test(i.message ?? '');

function failureOf(i: InstanceView, opts: DecideOptions): string | undefined {
  const detail = i.message ? `: ${i.message}` : '';
  if (!i.nodeReady) return `instance ${i.id} was lost with its node`;
  if (i.state === 'failed' || i.state === 'exited' || i.state === 'stopped')
    return `instance ${i.id} ${i.state === 'failed' ? 'failed' : 'exited'}${detail}`;
  if (/crash-loop/.test(i.message ?? '')) return `instance ${i.id} is crash-looping${detail}`;
  if (i.health === 'unhealthy' && opts.now - i.createdAt > opts.healthGraceMs)
    return `instance ${i.id} failed its health check${detail}`;
  return undefined;
}

export function decide(app: AppView, instances: readonly InstanceView[], opts: DecideOptions): Decision {
  /** Beyond saving: its node is gone, its agent gave up on it, or it stayed down past the restart grace. */
  const gone = (i: InstanceView): boolean =>
    !i.nodeReady || crashLooping(i) || (exited(i) && opts.now - i.stateSince >= opts.restartGraceMs);
  const healthy = (i: InstanceView): boolean =>
    i.nodeReady && i.state === 'running' && i.health === 'healthy';
  const d: Decision = { start: 0, route: [], unroute: [], stop: [], phase: 'steady' };
  const target = instances.filter((i) => i.releaseId === app.targetReleaseId);
  const others = instances.filter((i) => i.releaseId !== app.targetReleaseId);

  if (app.deploying) {
    for (const i of target) {
      if (!i.fromDeployment) continue;
      const reason = failureOf(i, opts);
      if (reason !== undefined) {
        d.outcome = { kind: 'failed', reason };
        d.stop.push(...target.filter((t) => t.fromDeployment).map((t) => t.id));
        return d;
      }
    }
  }

  // Lost or dead instances of the target release leave; the count below replaces them.
  const live = target.filter((i) => !gone(i));
  d.stop.push(...target.filter(gone).map((i) => i.id));

  // Scale down: the newest unrouted (or unhealthy) go first.
  const excess = live.length - app.replicas;
  const rank = (i: InstanceView): number => (i.routed ? 2 : 0) + (healthy(i) ? 1 : 0);
  const keep = [...live]
    .sort((a, b) => rank(b) - rank(a) || a.createdAt - b.createdAt)
    .slice(0, app.replicas);
  const keepIds = new Set(keep.map((i) => i.id));
  const extra = excess > 0 ? live.filter((i) => !keepIds.has(i.id)) : [];

  const surge = app.strategy === 'bluegreen' ? app.replicas : 1;
  const pending = keep.filter((i) => !healthy(i)).length;
  const missing = app.replicas - keep.length;
  d.start = Math.max(0, Math.min(missing, surge - pending));

  const ready = keep.filter(healthy);
  // Blue-green switches all at once: nothing new is routed until every new instance is healthy.
  const mayRoute = app.strategy === 'rolling' || !app.deploying || ready.length >= app.replicas;
  if (mayRoute) for (const i of ready) if (!i.routed) d.route.push(i.id);
  const routedNew = ready.filter((i) => i.routed || d.route.includes(i.id)).length;

  // Keep `replicas` serving: an old instance is unrouted only when a new routed one takes its place.
  const routedOld = [...others, ...extra].filter((i) => i.routed && !gone(i));
  let canUnroute = Math.max(0, routedOld.length + routedNew - app.replicas);
  if (app.targetReleaseId === null || app.replicas === 0) canUnroute = routedOld.length;
  for (const i of routedOld) {
    if (canUnroute <= 0) break;
    d.unroute.push(i.id);
    canUnroute--;
  }
  for (const i of [...others, ...extra]) {
    if (i.routed && !gone(i) && !d.unroute.includes(i.id)) continue;
    if (i.routed && d.unroute.includes(i.id)) continue; // stopped on a later pass, after the drain
    const drained = i.unroutedAt === null || opts.now - i.unroutedAt >= opts.drainMs;
    if (gone(i) || drained) d.stop.push(i.id);
  }
  // Routed instances that are down stop receiving traffic at once (and get it back once healthy again).
  for (const i of instances)
    if (i.routed && (gone(i) || exited(i)) && !d.unroute.includes(i.id)) d.unroute.push(i.id);

  const remainingOld = [...others, ...extra].filter((i) => !d.stop.includes(i.id)).length;
  if (app.deploying) {
    if (routedNew >= app.replicas && remainingOld === 0 && d.start === 0) d.outcome = { kind: 'succeeded' };
    else if (keep.length < app.replicas || keep.some((i) => i.state !== 'running')) d.phase = 'starting';
    else if (ready.length < app.replicas) d.phase = 'health_checking';
    else d.phase = 'switching';
  }
  return d;
}
