import type { Reporter, TestRunEndReason } from 'vitest/node';

/** The parts of vitest's TestModule that the summary reads; structural so the counting can be tested with plain objects. */
export interface ModuleLike {
  state(): string;
  children: { allTests(): Iterable<{ result(): { state: string } }> };
}

export interface RunCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export function countRun(
  modules: ReadonlyArray<ModuleLike>,
  unhandledErrors: ReadonlyArray<unknown>,
  reason: TestRunEndReason,
): RunCounts {
  const counts: RunCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const module of modules) {
    let failedTests = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') counts.passed++;
      else if (state === 'failed') failedTests++;
      else if (state === 'skipped') counts.skipped++;
    }
    counts.failed += failedTests;
    // A module that failed without a failing test (import error, syntax error, failing beforeAll/afterAll)
    // would otherwise read as "0 failed".
    if (module.state() === 'failed' && failedTests === 0) counts.failed++;
  }
  counts.failed += unhandledErrors.length;
  // Whatever else went wrong (no tests found, interrupted run), CI must never read "0 failed" from a failed run.
  if (reason !== 'passed' && counts.failed === 0) counts.failed = 1;
  return counts;
}

export function formatRunSummary({ passed, failed, skipped }: RunCounts): string {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

/**
 * Prints one plain line, e.g. "12 passed, 0 failed" or "10 passed, 1 failed, 2 skipped", that CI reads.
 * List it after 'default': reporters are called in order, and the default summary prints synchronously, so this
 * line comes last.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<ModuleLike>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason: TestRunEndReason,
  ): void {
    // Straight to stdout without colours or vitest's logger formatting, so the line parses as-is.
    process.stdout.write(`${formatRunSummary(countRun(testModules, unhandledErrors, reason))}\n`);
  }
}
