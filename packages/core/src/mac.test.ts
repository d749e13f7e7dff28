import { describe, expect, it } from 'vitest';
import { macForInstance } from './mac.js';

describe('macForInstance', () => {
  it('is a locally administered unicast MAC with the 02:00:00 prefix', () => {
    expect(macForInstance('app_01abc')).toMatch(/^02:00:00(:[0-9a-f]{2}){3}$/);
    expect(macForInstance('')).toMatch(/^02:00:00(:[0-9a-f]{2}){3}$/);
  });

  it('gives the same MAC for the same id', () => {
    expect(macForInstance('inst-42')).toBe(macForInstance('inst-42'));
    expect(macForInstance('ünïcødé')).toBe(macForInstance('ünïcødé'));
  });

  it('gives different MACs for different ids', () => {
    expect(macForInstance('a')).not.toBe(macForInstance('b'));
    // 10,000 ids into 2^24 values: the birthday bound expects about 3 colliding pairs, so allow a few.
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(macForInstance(`inst_${i.toString(36)}_x`));
    expect(10_000 - seen.size).toBeLessThan(5);
  });
});
