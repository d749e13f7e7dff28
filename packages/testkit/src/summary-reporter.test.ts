import { describe, expect, it } from 'vitest';
import { countRun, formatRunSummary } from './summary-reporter.js';
import type { ModuleLike } from './summary-reporter.js';

function module(state: string, testStates: string[]): ModuleLike {
  return {
    state: () => state,
    children: { allTests: () => testStates.map((s) => ({ result: () => ({ state: s }) })) },
  };
}

describe('summary line', () => {
  it('counts test cases across modules and omits skipped when there are none', () => {
    const counts = countRun(
      [module('passed', ['passed', 'passed']), module('passed', ['passed'])],
      [],
      'passed',
    );
    expect(formatRunSummary(counts)).toBe('3 passed, 0 failed');
  });

  it('adds skipped only when some were skipped', () => {
    const counts = countRun([module('failed', ['passed', 'failed', 'skipped', 'skipped'])], [], 'failed');
    expect(formatRunSummary(counts)).toBe('1 passed, 1 failed, 2 skipped');
  });

  it('counts a module that failed to load, and each unhandled error, as one failure', () => {
    const counts = countRun(
      [module('failed', []), module('passed', ['passed'])],
      [new Error('boom')],
      'failed',
    );
    expect(formatRunSummary(counts)).toBe('1 passed, 2 failed');
  });

  it('never reports 0 failed for a run that did not pass', () => {
    expect(formatRunSummary(countRun([], [], 'failed'))).toBe('0 passed, 1 failed');
    expect(formatRunSummary(countRun([module('pending', ['passed', 'pending'])], [], 'interrupted'))).toBe(
      '1 passed, 1 failed',
    );
  });
});
