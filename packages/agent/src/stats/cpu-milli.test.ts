import { describe, expect, it } from 'vitest';
import { cpuMilli } from './cpu-milli.js';

describe('cpuMilli', () => {
  it('is the CPU time used over the wall time between readings, in thousandths of a core', () => {
    // One core busy for the whole second.
    expect(cpuMilli({ cpuUsageNs: 0, atMs: 0 }, { cpuUsageNs: 1e9, atMs: 1000 })).toBe(1000);
    // Two cores for half a second each over 10 s: 1 s of CPU in 10 s.
    expect(cpuMilli({ cpuUsageNs: 5e9, atMs: 2000 }, { cpuUsageNs: 6e9, atMs: 12_000 })).toBe(100);
    // 2.5 cores busy.
    expect(cpuMilli({ cpuUsageNs: 0, atMs: 0 }, { cpuUsageNs: 25e8, atMs: 1000 })).toBe(2500);
    // 123.4 µs of CPU in 10 ms rounds to 12 milli-CPU; idle is 0.
    expect(cpuMilli({ cpuUsageNs: 0, atMs: 0 }, { cpuUsageNs: 123_400, atMs: 10 })).toBe(12);
    expect(cpuMilli({ cpuUsageNs: 7, atMs: 0 }, { cpuUsageNs: 7, atMs: 10 })).toBe(0);
  });

  it('is unknown when no time passed or the counter went back (a restart under the same id)', () => {
    expect(cpuMilli({ cpuUsageNs: 0, atMs: 5 }, { cpuUsageNs: 1e9, atMs: 5 })).toBeUndefined();
    expect(cpuMilli({ cpuUsageNs: 2e9, atMs: 0 }, { cpuUsageNs: 1e9, atMs: 1000 })).toBeUndefined();
  });
});
