import { describe, expect, it } from 'vitest';
import { place } from './place.js';
import { GiB, MiB, instance, node, request } from './test-fixtures.js';
import type { NodeSnapshot, PlacedInstance } from './types.js';

function nodesOf(
  nodes: readonly NodeSnapshot[],
  requests: Parameters<typeof place>[1],
  instances: readonly PlacedInstance[] = [],
) {
  const plan = place({ nodes, instances }, requests);
  return plan.placements.map((p) => p.nodeId);
}

describe('place: what fits', () => {
  it('places on a node with room and fails when memory, CPU or disk is short', () => {
    const small = node('n1', { capacity: { memoryBytes: 512 * MiB, cpuMilli: 500, diskBytes: 2 * GiB } });
    expect(nodesOf([small], [request('a', { memoryBytes: 512 * MiB })])).toEqual(['n1']);
    expect(nodesOf([small], [request('a', { memoryBytes: 513 * MiB })])).toEqual([]);
    expect(nodesOf([small], [request('a', { cpuMilli: 500 })])).toEqual(['n1']);
    expect(nodesOf([small], [request('a', { cpuMilli: 501 })])).toEqual([]);
    expect(nodesOf([small], [request('a', { diskBytes: 2 * GiB })])).toEqual(['n1']);
    expect(nodesOf([small], [request('a', { diskBytes: 2 * GiB + 1 })])).toEqual([]);
  });

  it('counts the resources of instances already on the node', () => {
    const n1 = node('n1', { capacity: { memoryBytes: GiB, cpuMilli: 4000, diskBytes: 100 * GiB } });
    const running = [instance('other', 'n1', { memoryBytes: 800 * MiB })];
    expect(nodesOf([n1], [request('a', { memoryBytes: 300 * MiB })], running)).toEqual([]);
    expect(nodesOf([n1], [request('a', { memoryBytes: 224 * MiB })], running)).toEqual(['n1']);
  });

  it('only uses nodes that offer the runtime', () => {
    const nodes = [node('n1'), node('n2', { runtimes: ['container', 'wasm'] })];
    expect(nodesOf(nodes, [request('a', { runtime: 'wasm', count: 2 })])).toEqual(['n2', 'n2']);
  });

  it('skips nodes that are not ready', () => {
    const nodes = [
      node('n1', { status: 'draining' }),
      node('n2', { status: 'pending' }),
      node('n3', { status: 'unreachable' }),
      node('n4'),
    ];
    expect(nodesOf(nodes, [request('a', { count: 2 })])).toEqual(['n4', 'n4']);
  });

  it('never uses an excluded node, even when it is the best fit', () => {
    const nodes = [
      node('n1'),
      node('n2', { capacity: { memoryBytes: GiB, cpuMilli: 1000, diskBytes: 10 * GiB } }),
    ];
    expect(nodesOf(nodes, [request('a', { excludeNodes: ['n1'], count: 2 })])).toEqual(['n2', 'n2']);
    expect(nodesOf(nodes, [request('a', { excludeNodes: ['gone'] })])).toEqual(['n1']);
  });

  it('holds capacity taken by earlier placements in the same call', () => {
    const n1 = node('n1', { capacity: { memoryBytes: GiB, cpuMilli: 4000, diskBytes: 100 * GiB } });
    const plan = place({ nodes: [n1], instances: [] }, [
      request('a', { memoryBytes: 600 * MiB }),
      request('b', { memoryBytes: 600 * MiB }),
      request('c', { memoryBytes: 400 * MiB }),
    ]);
    expect(plan.placements).toEqual([
      { appId: 'a', nodeId: 'n1' },
      { appId: 'c', nodeId: 'n1' },
    ]);
    expect(plan.failures.map((f) => f.appId)).toEqual(['b']);
  });

  it('ignores instances on nodes missing from the snapshot', () => {
    expect(nodesOf([node('n1')], [request('a')], [instance('a', 'gone')])).toEqual(['n1']);
  });
});

describe('place: where it goes', () => {
  it('spreads replicas over nodes', () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    expect(nodesOf(nodes, [request('a', { count: 3 })]).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('spreads around replicas that already run', () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    const running = [instance('a', 'n1'), instance('a', 'n2')];
    expect(nodesOf(nodes, [request('a')], running)).toEqual(['n3']);
  });

  it('counts other apps only as load, not for spread', () => {
    const nodes = [node('n1'), node('n2')];
    const running = [instance('other', 'n1'), instance('a', 'n2')];
    expect(nodesOf(nodes, [request('a')], running)).toEqual(['n1']);
  });

  it('spreads replicas over zones', () => {
    const nodes = [
      node('a1', { zone: 'a' }),
      node('a2', { zone: 'a' }),
      node('b1', { zone: 'b' }),
      node('b2', { zone: 'b' }),
    ];
    const [first, second] = nodesOf(nodes, [request('app', { count: 2 })]);
    expect(first?.[0]).not.toBe(second?.[0]);
  });

  it('treats nodes without a zone as a zone of their own', () => {
    const nodes = [node('a1', { zone: 'a' }), node('a2', { zone: 'a' }), node('z1'), node('z2')];
    const running = [instance('app', 'a1')];
    expect(nodesOf(nodes, [request('app')], running)).toEqual(['z1']);
  });

  it('prefers nodes that already hold the image', () => {
    const digest = 'sha256:' + 'ab'.repeat(32);
    const nodes = [node('n1'), node('n2', { images: [digest] }), node('n3')];
    expect(nodesOf(nodes, [request('a', { imageDigest: digest })])).toEqual(['n2']);
  });

  it('puts spread before image locality', () => {
    const digest = 'sha256:' + 'ab'.repeat(32);
    const nodes = [node('n1'), node('n2', { images: [digest] })];
    expect(nodesOf(nodes, [request('a', { imageDigest: digest, count: 2 })])).toEqual(['n2', 'n1']);
  });

  it('prefers the node with the most headroom, counting CPU as well as memory', () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    const running = [
      instance('x', 'n1', { memoryBytes: 2 * GiB }),
      instance('y', 'n2', { cpuMilli: 3000 }),
      instance('z', 'n3', { memoryBytes: GiB }),
    ];
    expect(nodesOf(nodes, [request('a')], running)).toEqual(['n3']);
  });

  it('breaks ties by node id', () => {
    const nodes = [node('n3'), node('n1'), node('n2')];
    expect(nodesOf(nodes, [request('a')])).toEqual(['n1']);
  });

  it('gives the same plan whatever the order of the nodes', () => {
    const nodes = Array.from({ length: 30 }, (_, i) =>
      node(`n${i}`, {
        zone: ['a', 'b', 'c', null][i % 4] ?? null,
        capacity: { memoryBytes: (1 + (i % 5)) * GiB, cpuMilli: 2000 + (i % 3) * 1000, diskBytes: 50 * GiB },
      }),
    );
    const requests = Array.from({ length: 20 }, (_, i) =>
      request(`app-${i % 7}`, { count: 1 + (i % 4), memoryBytes: (128 + 64 * (i % 5)) * MiB }),
    );
    const plan = place({ nodes, instances: [] }, requests);
    const reversed = place({ nodes: [...nodes].reverse(), instances: [] }, requests);
    expect(reversed).toEqual(plan);
    expect(place({ nodes, instances: [] }, requests)).toEqual(plan);
    expect(plan.placements).toHaveLength(requests.reduce((sum, r) => sum + r.count, 0));
  });

  it('does not change its input', () => {
    const nodes = [node('n2'), node('n1')];
    const requests = [request('a', { count: 2 })];
    const before = structuredClone({ nodes, requests });
    place({ nodes, instances: [] }, requests);
    expect({ nodes, requests }).toEqual(before);
  });
});
