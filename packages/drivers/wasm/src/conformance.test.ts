import { driverConformance } from '@shellwego/testkit/vitest';
import { afterAll, beforeAll, expect } from 'vitest';
import { WasmDriver } from './driver.js';
import { makeWasmTestEnv, urlOf, type WasmTestEnv } from './test-harness.js';
import { buildModule, logThenMaybeLoopWat } from './test-modules.js';

let env: WasmTestEnv | undefined;
const testEnv = (): WasmTestEnv => {
  if (env === undefined) throw new Error('test env not ready');
  return env;
};
beforeAll(async () => {
  env = await makeWasmTestEnv();
});
afterAll(async () => {
  await env?.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const EXPECTED = 'GREETING=hello';

driverConformance(
  () => new WasmDriver(),
  async (name) => {
    const e = testEnv();
    const m = await buildModule(e.modulesDir, name, logThenMaybeLoopWat(EXPECTED));
    // A long time limit, so the never-ending request is cut by stop's grace period and not by the 504.
    return e.spec(name, m, { env: ['REQUEST_TIMEOUT_MS=60000'] });
  },
  {
    expectedLog: EXPECTED,
    // A wasm instance writes only while it serves a request.
    triggerLog: async (spec) => {
      expect((await fetch(urlOf(spec))).status).toBe(200);
    },
    // No signals here: what stop has to cut is a request that never finishes.
    inFlightWork: async (spec, handle) => {
      const driver = new WasmDriver();
      const idle = (await driver.stats(handle)).memoryBytes;
      const pending = fetch(urlOf(spec), { method: 'POST', body: 'loop' }).then(
        (r) => r.status,
        () => 'connection closed',
      );
      // A running request adds its linear memory to the instance's stats: that is how we know it is under way.
      for (let i = 0; i < 200 && (await driver.stats(handle)).memoryBytes <= idle; i++) await sleep(25);
      return async () => {
        expect([503, 'connection closed']).toContain(await pending);
      };
    },
  },
);
