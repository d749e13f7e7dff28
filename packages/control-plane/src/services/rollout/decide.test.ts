import { describe, expect, it } from 'vitest';
import { decide, healthGraceOf, MICROVM_BOOT_GRACE_MS, type AppView, type InstanceView } from './decide.js';

const opts = { now: 100_000, drainMs: 2_000, healthGraceMs: 30_000, restartGraceMs: 10_000 };
const app = (over: Partial<AppView> = {}): AppView => ({
  replicas: 1,
  targetReleaseId: 'r2',
  deploying: true,
  strategy: 'rolling',
  healthIntervalMs: 5_000,
  ...over,
});
let n = 0;
const inst = (releaseId: string, over: Partial<InstanceView> = {}): InstanceView => ({
  id: `i${++n}`,
  releaseId,
  fromDeployment: releaseId === 'r2',
  routed: false,
  unroutedAt: null,
  createdAt: 90_000,
  stateSince: 90_000,
  state: 'running',
  health: 'healthy',
  message: null,
  nodeReady: true,
  ...over,
});

describe('decide', () => {
  it('starts the first instance of a fresh app and succeeds once it is healthy and routed', () => {
    expect(decide(app(), [], opts)).toMatchObject({ start: 1, phase: 'starting' });
    const starting = inst('r2', { state: 'starting', health: 'unknown' });
    expect(decide(app(), [starting], opts)).toMatchObject({ start: 0, route: [], phase: 'starting' });
    const up = inst('r2');
    expect(decide(app(), [up], opts)).toMatchObject({ route: [up.id], outcome: { kind: 'succeeded' } });
  });

  it('never unroutes the old version before the new one is routed, and stops it only after the drain', () => {
    const old = inst('r1', { routed: true });
    const fresh = inst('r2', { health: 'unknown' });
    expect(decide(app(), [old, fresh], opts)).toMatchObject({ start: 0, route: [], unroute: [], stop: [] });
    const ready = { ...fresh, health: 'healthy' };
    expect(decide(app(), [old, ready], opts)).toMatchObject({
      route: [ready.id],
      unroute: [old.id],
      stop: [],
    });
    const draining = { ...old, routed: false, unroutedAt: opts.now - 500 };
    const routed = { ...ready, routed: true };
    expect(decide(app(), [draining, routed], opts)).toMatchObject({ stop: [], phase: 'switching' });
    const drained = { ...draining, unroutedAt: opts.now - 2_000 };
    expect(decide(app(), [drained, routed], opts)).toMatchObject({
      stop: [drained.id],
      outcome: { kind: 'succeeded' },
    });
  });

  it('rolls one new instance at a time (max surge 1)', () => {
    const olds = [1, 2, 3].map(() => inst('r1', { routed: true }));
    expect(decide(app({ replicas: 3 }), olds, opts).start).toBe(1);
    const one = inst('r2', { health: 'unknown' });
    expect(decide(app({ replicas: 3 }), [...olds, one], opts).start).toBe(0);
    const d = decide(app({ replicas: 3 }), [...olds, { ...one, health: 'healthy' }], opts);
    expect(d).toMatchObject({ start: 1, route: [one.id] });
    expect(d.unroute).toHaveLength(1);
  });

  it('blue-green starts every replica and switches only when all are healthy', () => {
    const olds = [1, 2].map(() => inst('r1', { routed: true }));
    const bg = app({ replicas: 2, strategy: 'bluegreen' });
    expect(decide(bg, olds, opts).start).toBe(2);
    const a = inst('r2');
    const b = inst('r2', { health: 'unknown' });
    expect(decide(bg, [...olds, a, b], opts)).toMatchObject({ route: [], unroute: [] });
    const d = decide(bg, [...olds, a, { ...b, health: 'healthy' }], opts);
    expect(d.route).toEqual([a.id, b.id]);
    expect(d.unroute).toEqual(olds.map((o) => o.id));
  });

  it('fails the deployment when a new instance stays unhealthy past the grace, keeping the old one', () => {
    const old = inst('r1', { routed: true });
    const bad = inst('r2', { health: 'unhealthy', message: 'GET / answered 500', createdAt: 0 });
    const d = decide(app(), [old, bad], opts);
    expect(d.outcome).toEqual({
      kind: 'failed',
      reason: `instance ${bad.id} failed its health check: GET / answered 500`,
    });
    expect(d.stop).toEqual([bad.id]);
    expect(d.unroute).toEqual([]);
  });

  it('gives a microVM its boot before a failing health check fails the deployment', () => {
    const spec = (runtime: string, interval_ms = 1_000) => ({ runtime, health_check: { interval_ms } });
    expect(healthGraceOf(10_000, spec('runc'))).toBe(10_000);
    expect(healthGraceOf(10_000, spec('runc', 30_000))).toBe(150_000);
    expect(healthGraceOf(10_000, spec('microvm'))).toBe(MICROVM_BOOT_GRACE_MS);
    // A guest still booting 20 s after its start (TCG on a busy machine) keeps the deployment going.
    const booting = inst('r2', { health: 'unhealthy', message: 'connection refused', createdAt: 80_000 });
    const grace = healthGraceOf(10_000, spec('microvm'));
    expect(
      decide(app(), [inst('r1', { routed: true }), booting], { ...opts, healthGraceMs: grace }).outcome,
    ).toBe(undefined);
  });

  it('fails when a new instance exits or crash-loops', () => {
    const crashed = inst('r2', { state: 'failed', message: 'exit code 1' });
    expect(decide(app(), [crashed], opts).outcome).toEqual({
      kind: 'failed',
      reason: `instance ${crashed.id} failed: exit code 1`,
    });
  });

  it('in steady state replaces an instance lost with its node and unroutes it at once', () => {
    const lost = inst('r2', { routed: true, nodeReady: false, fromDeployment: false });
    const d = decide(app({ deploying: false }), [lost], opts);
    expect(d).toMatchObject({ start: 1, unroute: [lost.id], stop: [lost.id] });
    expect(d.outcome).toBeUndefined();
  });

  it('in steady state gives the agent time to restart an exited instance before replacing it', () => {
    const crashed = inst('r2', { routed: true, fromDeployment: false, state: 'failed', stateSince: 95_000 });
    expect(decide(app({ deploying: false }), [crashed], opts)).toMatchObject({
      start: 0,
      unroute: [crashed.id],
      stop: [],
    });
    const late = { ...crashed, routed: false, stateSince: 80_000 };
    expect(decide(app({ deploying: false }), [late], opts)).toMatchObject({ start: 1, stop: [late.id] });
    const back = { ...crashed, routed: false, state: 'running' };
    expect(decide(app({ deploying: false }), [back], opts)).toMatchObject({ route: [back.id], stop: [] });
  });

  it('scales down by unrouting the extra instances, then stopping them after the drain', () => {
    const live = [1, 2, 3].map(() => inst('r2', { routed: true, fromDeployment: false }));
    const d = decide(app({ deploying: false, replicas: 1 }), live, opts);
    expect(d.start).toBe(0);
    expect(d.unroute).toHaveLength(2);
    expect(d.stop).toEqual([]);
  });

  it('with no release or zero replicas unroutes everything', () => {
    const live = inst('r1', { routed: true });
    expect(decide(app({ targetReleaseId: null, deploying: false }), [live], opts).unroute).toEqual([live.id]);
  });
});
