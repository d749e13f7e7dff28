import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHandle, InstanceSpec, RuntimeDriver } from '@shellwego/driver-sdk';
import { afterAll, describe, expect, it } from 'vitest';

export interface DriverConformanceOptions {
  /** Text the spec's process prints at start (default 'started'). The process must run until killed. */
  expectedLog?: string;
  /** Driver-specific leftovers after destroy (mounts, cgroups, runtime state); each entry fails the test. */
  leftovers?: (spec: InstanceSpec) => Promise<string[]>;
  /** Grace period for the stop test; the process is expected to ignore SIGTERM so the kill path is exercised. */
  graceMs?: number;
  /**
   * How long the instance may take to print `expectedLog` after start (default 10 s). Also raises the vitest
   * timeout of the tests that wait on it: a microVM under software emulation boots in seconds, not milliseconds.
   */
  readyTimeoutMs?: number;
  /**
   * Makes the running instance produce `expectedLog`, for drivers whose instances only write when asked (wasm: one
   * request). Called before the log tests look for the text.
   */
  triggerLog?: (spec: InstanceSpec, handle: InstanceHandle) => Promise<void>;
  /**
   * For drivers without signals, where "ignores SIGTERM" means nothing: starts work that a graceful stop must wait
   * for and then cut at the grace period (wasm: an in-flight request that never ends). Resolves once the work is
   * under way, with a check to run after stop that asserts the work was cut. The stop test then also asserts that
   * stop waited for the grace period.
   */
  inFlightWork?: (spec: InstanceSpec, handle: InstanceHandle) => Promise<() => Promise<void>>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function collectLogs(driver: RuntimeDriver, handle: InstanceHandle): Promise<string> {
  const lines: string[] = [];
  for await (const l of driver.logs(handle, { follow: false, signal: new AbortController().signal }))
    lines.push(l.line);
  return lines.join('\n');
}

async function pathsNaming(dir: string, needle: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => e.includes(needle)).map((e) => join(dir, e));
}

/**
 * Registers the behaviour every RuntimeDriver must show (STYLE.md §4). `makeSpec(name)` returns a spec with a
 * unique instance id whose process prints `expectedLog` and then runs until killed, ignoring SIGTERM.
 */
export function driverConformance(
  makeDriver: () => RuntimeDriver,
  makeSpec: (name: string) => Promise<InstanceSpec>,
  opts: DriverConformanceOptions = {},
): void {
  const expectedLog = opts.expectedLog ?? 'started';
  const graceMs = opts.graceMs ?? 500;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  // Only raised when asked for, so existing users keep vitest's configured timeout.
  const slowTimeout = opts.readyTimeoutMs === undefined ? undefined : readyTimeoutMs + 30_000;

  describe(`driver conformance: ${makeDriver().name}`, () => {
    const driver = makeDriver();
    let spec: InstanceSpec | undefined;
    let handle: InstanceHandle | undefined;
    let firstPid: number | null = null;

    const started = (): InstanceHandle => {
      if (handle === undefined) throw new Error('instance was not started (an earlier test failed)');
      return handle;
    };

    afterAll(async () => {
      if (handle !== undefined) await driver.destroy(handle);
    });

    it('fingerprint says usable with a version', async () => {
      const fp = await driver.fingerprint();
      expect(fp.reason).toBeUndefined();
      expect(fp.usable).toBe(true);
      expect(fp.version).toBeTruthy();
    });

    it(
      'start → inspect reports running with a pid',
      async () => {
        spec = await makeSpec('conf');
        handle = await driver.start(spec);
        expect(handle.driver).toBe(driver.name);
        expect(handle.version).toBe(1);
        // The agent persists handles as JSON; what comes back must still work.
        handle = JSON.parse(JSON.stringify(handle)) as InstanceHandle;
        const status = await driver.inspect(handle);
        expect(status.state).toBe('running');
        expect(status.pid).toBeGreaterThan(0);
        expect(status.startedAt).toBeInstanceOf(Date);
        firstPid = status.pid;
      },
      slowTimeout,
    );

    it(
      'logs contain the process output',
      async () => {
        const h = started();
        if (opts.triggerLog !== undefined && spec !== undefined) await opts.triggerLog(spec, h);
        const text = await waitFor(
          'log output',
          async () => {
            const t = await collectLogs(driver, h);
            return t.includes(expectedLog) ? t : undefined;
          },
          readyTimeoutMs,
        );
        expect(text).toContain(expectedLog);
      },
      slowTimeout,
    );

    it('logs follow until the signal aborts', async () => {
      const ac = new AbortController();
      const seen: string[] = [];
      const timer = setTimeout(() => ac.abort(), 600);
      for await (const l of driver.logs(started(), { follow: true, signal: ac.signal })) seen.push(l.line);
      clearTimeout(timer);
      expect(seen.join('\n')).toContain(expectedLog);
    });

    it('stats report memory in use and the memory limit', async () => {
      const s = await driver.stats(started());
      expect(s.memoryBytes).toBeGreaterThan(0);
      expect(s.memoryLimitBytes).toBe(spec?.resources.memoryBytes);
      expect(s.cpuUsageNs).toBeGreaterThanOrEqual(0);
    });

    it('recover on a fresh driver object re-attaches without restarting', async () => {
      const fresh = makeDriver();
      expect(await fresh.recover(started())).toBe(true);
      const status = await fresh.inspect(started());
      expect(status.state).toBe('running');
      expect(status.pid).toBe(firstPid);
    });

    it('stop escalates to a kill after the grace period → inspect exited', async () => {
      const checkCut =
        opts.inFlightWork !== undefined && spec !== undefined
          ? await opts.inFlightWork(spec, started())
          : undefined;
      const t0 = Date.now();
      await driver.stop(started(), { graceMs });
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeLessThan(graceMs + 5_000);
      if (checkCut !== undefined) {
        // A lower bound only: stop must have waited for the work, however slow the machine is.
        expect(elapsed).toBeGreaterThanOrEqual(graceMs - 20);
        await checkCut();
      }
      const status = await driver.inspect(started());
      expect(status.state).toBe('exited');
      expect(status.pid).toBeNull();
      expect(await driver.recover(started())).toBe(false);
    });

    it('stop is idempotent', async () => {
      await driver.stop(started(), { graceMs });
      await driver.stop(started(), { graceMs: 0 });
      expect((await driver.inspect(started())).state).toBe('exited');
    });

    it('destroy leaves nothing behind', async () => {
      const h = started();
      const s = spec;
      if (s === undefined) throw new Error('no spec');
      await driver.destroy(h);
      handle = undefined;
      expect((await driver.inspect(h)).state).toBe('unknown');
      expect(await pathsNaming(s.stateDir, s.instanceId)).toEqual([]);
      expect(await pathsNaming(s.logDir, s.instanceId)).toEqual([]);
      if (opts.leftovers !== undefined) expect(await opts.leftovers(s)).toEqual([]);
      await driver.destroy(h); // destroying twice is harmless too
    });
  });
}
