import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate, per key', () => {
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3 });
    expect([0, 0, 0, 0].map(() => limiter.take('a', 1000))).toEqual([0, 0, 0, 1]);
    expect(limiter.take('b', 1000)).toBe(0); // another client has its own bucket
    expect(limiter.take('a', 1400)).toBe(1); // 0.8 of a token
    expect(limiter.take('a', 1600)).toBe(0); // one token back after 0.5 s
    expect(limiter.take('a', 1600)).toBe(1);
    expect(limiter.take('a', 60_000)).toBe(0); // never more than the burst
  });

  it('says how long until the next token', () => {
    const limiter = new RateLimiter({ ratePerSecond: 0.1, burst: 1 });
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBe(10);
  });
});
