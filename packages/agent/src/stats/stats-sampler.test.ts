import type { InstanceStats } from '@shellwego/driver-sdk';
import { describe, expect, it } from 'vitest';
import { StatsSampler } from './stats-sampler.js';

/** Counters that advance as a test says, standing in for what a driver reads from the kernel. */
function counters() {
  const usage = new Map<string, InstanceStats>();
  const calls: string[] = [];
  const broken = new Set<string>();
  let slow: string | undefined;
  return {
    usage,
    calls,
    broken,
    setSlow: (id: string) => (slow = id),
    statsOf: async (id: string): Promise<InstanceStats> => {
      calls.push(id);
      if (id === slow) await new Promise((r) => setTimeout(r, 1000));
      if (broken.has(id)) throw new Error(`no cgroup for ${id}`);
      const u = usage.get(id);
      if (u === undefined) throw new Error(`unknown ${id}`);
      return { ...u };
    },
  };
}

describe('StatsSampler', () => {
  it('keeps the latest sample, with milli-CPU from the previous one, and samples again only when due', async () => {
    const c = counters();
    let now = 0;
    const sampler = new StatsSampler({ statsOf: c.statsOf, minIntervalMs: 1000, now: () => now });
    c.usage.set('a', { cpuUsageNs: 1e9, memoryBytes: 5_000_000, memoryLimitBytes: 64 << 20 });
    await sampler.refresh(new Map([['a', 'app_1']]));
    expect(sampler.usage('a')).toMatchObject({ appId: 'app_1', memoryBytes: 5_000_000, cpuMilli: undefined });

    now = 500;
    c.usage.set('a', { cpuUsageNs: 1.25e9, memoryBytes: 6_000_000, memoryLimitBytes: 64 << 20 });
    await sampler.refresh(new Map([['a', 'app_1']]));
    expect(c.calls).toEqual(['a']); // not due yet: the first sample stands
    expect(sampler.usage('a')?.memoryBytes).toBe(5_000_000);

    now = 2000;
    await sampler.refresh(new Map([['a', 'app_1']]));
    // 0.25 s of CPU over 2 s.
    expect(sampler.usage('a')).toMatchObject({ memoryBytes: 6_000_000, cpuMilli: 125 });
  });

  it('forgets instances that no longer run', async () => {
    const c = counters();
    const sampler = new StatsSampler({ statsOf: c.statsOf, minIntervalMs: 0 });
    c.usage.set('a', { cpuUsageNs: 1, memoryBytes: 1, memoryLimitBytes: null });
    c.usage.set('b', { cpuUsageNs: 1, memoryBytes: 2, memoryLimitBytes: null });
    await sampler.refresh(
      new Map([
        ['a', 'x'],
        ['b', 'y'],
      ]),
    );
    expect(sampler.all().map((u) => u.instanceId)).toEqual(['a', 'b']);
    await sampler.refresh(new Map([['b', 'y']]));
    expect(sampler.all().map((u) => u.instanceId)).toEqual(['b']);
    expect(sampler.usage('a')).toBeUndefined();
  });

  it('drops the sample of an instance whose stats fail or hang, and still samples the others', async () => {
    const c = counters();
    const warnings: object[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (o: object) => warnings.push(o),
    };
    const sampler = new StatsSampler({ statsOf: c.statsOf, minIntervalMs: 0, timeoutMs: 200, logger });
    for (const id of ['ok', 'broken', 'slow'])
      c.usage.set(id, { cpuUsageNs: 1, memoryBytes: 42, memoryLimitBytes: null });
    const running = new Map([
      ['ok', 'a'],
      ['broken', 'a'],
      ['slow', 'a'],
    ]);
    await sampler.refresh(running);
    expect(sampler.all()).toHaveLength(3);

    c.broken.add('broken');
    c.setSlow('slow');
    const started = performance.now();
    await sampler.refresh(running);
    expect(performance.now() - started).toBeLessThan(900);
    expect(sampler.all().map((u) => u.instanceId)).toEqual(['ok']);
    expect(warnings).toHaveLength(2);
    // Once per failing streak, not at every pass.
    await sampler.refresh(running);
    expect(warnings).toHaveLength(2);
  });

  it('runs at most `concurrency` stats calls at once', async () => {
    let active = 0;
    let most = 0;
    const sampler = new StatsSampler({
      minIntervalMs: 0,
      concurrency: 2,
      statsOf: async () => {
        most = Math.max(most, ++active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        return { cpuUsageNs: 0, memoryBytes: 1, memoryLimitBytes: null };
      },
    });
    await sampler.refresh(new Map(Array.from({ length: 7 }, (_, i) => [`i${String(i)}`, 'a'])));
    expect(sampler.all()).toHaveLength(7);
    expect(most).toBe(2);
  });

  it('refreshes in the background: one round at a time, the report never waits for it', async () => {
    const c = counters();
    const sampler = new StatsSampler({ statsOf: c.statsOf, minIntervalMs: 0 });
    c.usage.set('a', { cpuUsageNs: 1e9, memoryBytes: 7, memoryLimitBytes: null });
    c.setSlow('a');
    const t0 = performance.now();
    const round = sampler.refreshSoon(new Map([['a', 'x']]));
    // A report asking again while the slow call runs joins that round rather than start another.
    expect(sampler.refreshSoon(new Map([['a', 'x']]))).toBe(round);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(sampler.usage('a')).toBeUndefined();
    await round;
    expect(c.calls).toEqual(['a']);
    expect(sampler.usage('a')).toMatchObject({ memoryBytes: 7 });
    expect(sampler.refreshSoon(new Map([['a', 'x']]))).not.toBe(round);
  });
});
