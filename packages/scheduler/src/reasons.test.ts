import { describe, expect, it } from 'vitest';
import { place } from './place.js';
import { GiB, MiB, instance, node, request } from './test-fixtures.js';
import type { NodeSnapshot, PlacedInstance, PlacementRequest } from './types.js';

function failureOf(
  nodes: readonly NodeSnapshot[],
  req: PlacementRequest,
  instances: readonly PlacedInstance[] = [],
) {
  const [failure, ...more] = place({ nodes, instances }, [req]).failures;
  expect(more).toEqual([]);
  return failure;
}

const reasonOf = (...args: Parameters<typeof failureOf>) => failureOf(...args)?.reason;

describe('failure reasons', () => {
  it('names the largest free memory when memory is short', () => {
    const nodes = [
      node('n1', {
        name: 'node-1',
        capacity: { memoryBytes: 200 * MiB, cpuMilli: 4000, diskBytes: 10 * GiB },
      }),
      node('n2', {
        name: 'node-2',
        capacity: { memoryBytes: 300 * MiB, cpuMilli: 4000, diskBytes: 10 * GiB },
      }),
    ];
    expect(reasonOf(nodes, request('a', { memoryBytes: 512 * MiB }))).toBe(
      'needs 512 MiB of memory; the largest free is 300 MiB on node-2',
    );
  });

  it('names the most free CPU when CPU is short', () => {
    const nodes = [node('n1', { name: 'node-1' })];
    const running = [instance('x', 'n1', { cpuMilli: 2500 })];
    expect(reasonOf(nodes, request('a', { cpuMilli: 2000 }), running)).toBe(
      'needs 2000m CPU; the most free is 1500m on node-1',
    );
  });

  it('names disk when disk is short', () => {
    const nodes = [node('n1', { capacity: { memoryBytes: GiB, cpuMilli: 1000, diskBytes: 700 * MiB } })];
    expect(reasonOf(nodes, request('a', { diskBytes: GiB }))).toBe(
      'needs 1 GiB of disk; the largest free is 700 MiB on n1',
    );
  });

  it('names the resource furthest from fitting when several are short', () => {
    const nodes = [node('n1', { capacity: { memoryBytes: GiB, cpuMilli: 100, diskBytes: 10 * GiB } })];
    expect(reasonOf(nodes, request('a', { memoryBytes: 2 * GiB, cpuMilli: 1000 }))).toBe(
      'needs 1000m CPU; the most free is 100m on n1',
    );
  });

  it('says when every node is full', () => {
    const nodes = [node('n1'), node('n2')];
    const running = [instance('x', 'n1', { cpuMilli: 4000 }), instance('y', 'n2', { cpuMilli: 4000 })];
    expect(reasonOf(nodes, request('a'), running)).toBe(
      'needs 250m CPU; all 2 ready container nodes are out of CPU',
    );
  });

  it('shows the closest node when each resource is free somewhere but never together', () => {
    const nodes = [
      node('n1', { capacity: { memoryBytes: 4 * GiB, cpuMilli: 500, diskBytes: 10 * GiB } }),
      node('n2', { capacity: { memoryBytes: 256 * MiB, cpuMilli: 4000, diskBytes: 10 * GiB } }),
    ];
    expect(reasonOf(nodes, request('a', { memoryBytes: GiB, cpuMilli: 1000, diskBytes: GiB }))).toBe(
      'no node has 1 GiB of memory, 1000m CPU and 1 GiB of disk free at once; ' +
        'the closest is n1, with 4 GiB of memory, 500m CPU and 10 GiB of disk free',
    );
  });

  it('says when no node is ready, and what state they are in', () => {
    expect(reasonOf([], request('a'))).toBe('no ready nodes');
    const nodes = [
      node('n1', { status: 'unreachable' }),
      node('n2', { status: 'draining' }),
      node('n3', { status: 'draining' }),
    ];
    expect(reasonOf(nodes, request('a'))).toBe('no ready nodes (1 unreachable, 2 draining)');
  });

  it('says when no ready node offers the runtime', () => {
    expect(reasonOf([node('n1')], request('a', { runtime: 'wasm' }))).toBe(
      'no ready node offers the wasm runtime',
    );
    const nodes = [node('n1'), node('n2', { name: 'node-2', status: 'draining', runtimes: ['wasm'] })];
    expect(reasonOf(nodes, request('a', { runtime: 'wasm' }))).toBe(
      'no ready node offers the wasm runtime (node-2 offers it but is draining)',
    );
  });

  it('says when exclusions leave no node, and mentions them otherwise', () => {
    const nodes = [
      node('n1'),
      node('n2', { capacity: { memoryBytes: 128 * MiB, cpuMilli: 4000, diskBytes: 10 * GiB } }),
    ];
    expect(reasonOf(nodes, request('a', { excludeNodes: ['n1', 'n2'] }))).toBe(
      'every ready node with the container runtime is excluded for this request (n1, n2)',
    );
    expect(reasonOf(nodes, request('a', { excludeNodes: ['n1'] }))).toBe(
      'needs 256 MiB of memory; the largest free is 128 MiB on n2 (n1 is excluded)',
    );
  });

  it('keeps the placements made before running out, and counts them', () => {
    const nodes = [node('n1', { capacity: { memoryBytes: GiB, cpuMilli: 4000, diskBytes: 10 * GiB } })];
    const plan = place({ nodes, instances: [] }, [
      request('a', { appName: 'web', count: 5, memoryBytes: 300 * MiB }),
    ]);
    expect(plan.placements).toHaveLength(3);
    expect(plan.failures).toEqual([
      {
        appId: 'a',
        appName: 'web',
        wanted: 5,
        placed: 3,
        reason: 'needs 300 MiB of memory; the largest free is 124 MiB on n1',
      },
    ]);
  });

  it('rejects requests with numbers that cannot be planned', () => {
    expect(reasonOf([node('n1')], request('a', { count: 1.5 }))).toBe(
      'invalid request: count must be a whole number of 0 or more (got 1.5)',
    );
    expect(reasonOf([node('n1')], request('a', { memoryBytes: Number.NaN }))).toBe(
      'invalid request: memoryBytes must be a finite number of 0 or more (got NaN)',
    );
    expect(place({ nodes: [node('n1')], instances: [] }, [request('a', { count: 0 })])).toEqual({
      placements: [],
      failures: [],
    });
  });
});
