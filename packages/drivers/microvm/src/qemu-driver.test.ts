import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { driverConformance } from '@shellwego/testkit/vitest';
import { afterAll, beforeAll } from 'vitest';
import { instanceFiles } from './vm-lifecycle.js';
import { QemuDriver } from './qemu-driver.js';
import {
  BOOT_TIMEOUT_MS,
  makeMicrovmTestEnv,
  newTestPrefix,
  testDriverOptions,
  type MicrovmTestEnv,
} from './test-harness.js';

// Boots one real microVM (QEMU TCG here, KVM where /dev/kvm exists). Needs root, like CI.
const prefix = newTestPrefix();
let env: MicrovmTestEnv | undefined;
const testEnv = (): MicrovmTestEnv => {
  if (env === undefined) throw new Error('test env not ready');
  return env;
};

beforeAll(async () => {
  env = await makeMicrovmTestEnv(prefix);
});
afterAll(async () => {
  await env?.cleanup();
});

const makeDriver = (): QemuDriver => new QemuDriver(testDriverOptions(prefix));

driverConformance(makeDriver, (name) => Promise.resolve(testEnv().spec(name)), {
  readyTimeoutMs: BOOT_TIMEOUT_MS,
  leftovers: async (spec) => {
    const e = testEnv();
    const found: string[] = [];
    const drives = await readdir(e.configDriveDir).catch(() => [] as string[]);
    found.push(...drives.filter((f) => f.includes(spec.instanceId)).map((f) => `config drive ${f}`));
    const runDirs = await readdir(e.runDir).catch(() => [] as string[]);
    found.push(...runDirs.map((d) => `socket dir ${d}`));
    const pidFile = instanceFiles(join(spec.stateDir, 'microvm', spec.instanceId)).pidFile;
    if (await stat(pidFile).catch(() => null)) found.push(`pid file ${pidFile}`);
    return found;
  },
});
