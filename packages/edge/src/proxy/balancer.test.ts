import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedRoute, RouteTarget } from '../routes/route-store.js';
import { Upstream } from '../routes/upstream.js';
import { pickTarget } from './balancer.js';

const poolOptions = {
  connectTimeoutMs: 100,
  headersTimeoutMs: 100,
  idleTimeoutMs: 100,
  keepAliveTimeoutMs: 100,
};
const created: Upstream[] = [];

function route(weights: number[]): ResolvedRoute {
  const targets = weights.map((weight, i) => {
    const upstream = new Upstream(`127.0.0.1:${10_000 + i}`, poolOptions);
    created.push(upstream);
    return { id: `u${i}`, upstream, weight };
  });
  return { hostname: 'a.test', appId: 'app', appName: 'a', healthPath: '/', targets, cursor: 0 };
}

afterEach(async () => {
  await Promise.all(created.splice(0).map((upstream) => upstream.destroy()));
});

describe('pickTarget', () => {
  it('spreads sequential requests over equal upstreams', () => {
    const r = route([1, 1, 1]);
    const picked = [0, 1, 2].map(() => pickTarget(r, new Set(), 0)?.id);
    expect(new Set(picked).size).toBe(3);
  });

  it('prefers the upstream with the fewest requests in flight, scaled by weight', () => {
    const r = route([1, 1, 3]);
    r.targets[0]!.upstream.outstanding = 2;
    r.targets[1]!.upstream.outstanding = 0;
    r.targets[2]!.upstream.outstanding = 2; // (2+1)/3 = 1 ties with (0+1)/1
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const id = pickTarget(r, new Set(), 0)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.get('u0')).toBeUndefined();
    expect(counts.get('u1')).toBeGreaterThan(0);
    expect(counts.get('u2')).toBeGreaterThan(0);
  });

  it('never picks a weight-0 upstream and returns undefined when only those are left', () => {
    const r = route([0, 1]);
    for (let i = 0; i < 5; i++) expect(pickTarget(r, new Set(), 0)?.id).toBe('u1');
    expect(pickTarget(r, new Set<RouteTarget>([r.targets[1]!]), 0)).toBeUndefined();
  });

  it('skips an upstream marked down, then tries it again after the period', () => {
    const r = route([1, 1]);
    r.targets[0]!.upstream.markPassiveDown(1000, 5000);
    for (let i = 0; i < 4; i++) expect(pickTarget(r, new Set(), 2000)?.id).toBe('u1');
    const later = new Set([0, 1, 2, 3].map(() => pickTarget(r, new Set(), 7000)?.id));
    expect(later).toEqual(new Set(['u0', 'u1']));
  });

  it('falls back to a down upstream when all are down', () => {
    const r = route([1]);
    r.targets[0]!.upstream.setActiveHealth(false);
    expect(pickTarget(r, new Set(), 0)?.id).toBe('u0');
  });
});
