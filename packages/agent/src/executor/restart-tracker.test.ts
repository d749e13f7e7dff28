import { describe, expect, it } from 'vitest';
import { RestartTracker } from './restart-tracker.js';

function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('RestartTracker', () => {
  it('backs off 1 s doubling to 60 s', () => {
    const r = new RestartTracker(manualClock());
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => r.delayAfter(n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('holds a failed instance until its backoff passes, counting one failure per start', () => {
    const clock = manualClock();
    const r = new RestartTracker(clock);
    expect(r.mayStart('a')).toBe(true);
    r.recordStart('a');
    r.recordFailure('a');
    r.recordFailure('a'); // the same exit seen by a second reconcile pass
    expect(r.condition('a')).toMatchObject({ failures: 1 });
    clock.advance(999);
    expect(r.mayStart('a')).toBe(false);
    clock.advance(1);
    expect(r.mayStart('a')).toBe(true);
    r.recordStart('a');
    r.recordFailure('a');
    clock.advance(1_999);
    expect(r.mayStart('a')).toBe(false);
    expect(r.mayStart('b')).toBe(true); // per instance
  });

  it('flags a crash loop after N starts within the window, and forgets it once stable', () => {
    const clock = manualClock();
    const r = new RestartTracker(
      clock,
      { initialMs: 10, maxMs: 100, stableAfterMs: 1_000 },
      { starts: 3, windowMs: 10_000 },
    );
    for (let i = 0; i < 3; i++) {
      r.recordStart('a');
      r.recordFailure('a');
      clock.advance(100);
    }
    expect(r.condition('a').crashLoop).toBe(true);
    r.recordStart('a');
    clock.advance(1_000);
    r.recordRunning('a');
    expect(r.condition('a')).toMatchObject({ failures: 0, crashLoop: false });
  });
});
