import { describe, expect, it } from 'vitest';
import { place } from './place.js';
import { reservationOf } from './reservation.js';
import { GiB, MiB, node, request } from './test-fixtures.js';

describe('reservationOf', () => {
  it('holds the limits of containers and microVMs, and a small fixed share for a wasm function', () => {
    const limits = { memoryBytes: 256 * MiB, cpuMilli: 500, diskBytes: 0 };
    expect(reservationOf('container', limits)).toEqual(limits);
    expect(reservationOf('microvm', limits)).toEqual(limits);
    expect(reservationOf('wasm', limits)).toEqual({ memoryBytes: MiB, cpuMilli: 0, diskBytes: 0 });
  });

  it('lets one 2-core node take 3,000 wasm functions of 64 MiB and 500m each', () => {
    const n = node('n1', {
      runtimes: ['container', 'wasm'],
      capacity: { memoryBytes: 8 * GiB, cpuMilli: 2000, diskBytes: GiB },
    });
    const want = { memoryBytes: 64 * MiB, cpuMilli: 500, diskBytes: 0 };
    const held = reservationOf('wasm', want);
    const plan = place({ nodes: [n], instances: [] }, [
      request('fn', { runtime: 'wasm', count: 3000, ...held }),
    ]);
    expect(plan.placements).toHaveLength(3000);
    // The same limits held in full, as containers hold them: CPU runs out after four.
    const asContainers = place({ nodes: [n], instances: [] }, [request('web', { count: 3000, ...want })]);
    expect(asContainers.placements.length).toBeLessThanOrEqual(4);
    expect(asContainers.failures[0]?.reason).toMatch(/CPU/);
  });
});
