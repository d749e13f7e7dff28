import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHandle, InstanceSpec } from '@shellwego/driver-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ourLinksIn, findVeth } from './netns.js';
import { QemuDriver } from './qemu-driver.js';
import { runTool } from './run-tool.js';
import { instanceFiles, livePid } from './vm-lifecycle.js';
import { parseHandle } from './state.js';
import {
  BOOT_TIMEOUT_MS,
  filesContaining,
  makeMicrovmTestEnv,
  newTestPrefix,
  testDriverOptions,
  type MicrovmTestEnv,
  type TestNet,
} from './test-harness.js';

// One real boot, shared by every test of this file: the guest owns the instance IP and serves HTTP, and the
// secret reaches the app process and nothing on the host's disk. Needs root (namespaces, TAP), like CI.
const prefix = newTestPrefix();
const driver = new QemuDriver(testDriverOptions(prefix));
const secret = `topsecret-${prefix}`;
let env: MicrovmTestEnv | undefined;
let net: TestNet | undefined;
let spec: InstanceSpec | undefined;
let handle: InstanceHandle | undefined;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fetchText(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1500) });
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  env = await makeMicrovmTestEnv(prefix);
  net = await env.netns('n');
  // The app copies its page to the guest's tmpfs /tmp, adds what it sees (env, uid, secret file) and serves it.
  // Nothing lands on the root disk, whose overlay is a host file.
  const rootfs = await env.image('web', { 'www/index.html': 'hello from the guest\n' });
  spec = env.spec('web', {
    rootfs,
    netnsPath: net.nsPath,
    network: { ip: net.ip, prefix: 24, gateway: net.gateway, mac: net.mac },
    secrets: { SOVEREIGN_KEY: secret },
    process: {
      args: [
        '/bin/sh',
        '-c',
        'mkdir -p /tmp/www && cp /www/index.html /tmp/www/ && env > /tmp/www/env.txt && id -u > /tmp/www/uid.txt' +
          ' && cat /run/secrets/SOVEREIGN_KEY > /tmp/www/secret.txt; echo started; exec httpd -f -p 8080 -h /tmp/www',
      ],
      env: ['PATH=/bin', 'GREETING=hello'],
      cwd: '/www',
      user: { uid: 1000, gid: 1000 },
    },
  });
  handle = await driver.start(spec);
}, BOOT_TIMEOUT_MS);

afterAll(async () => {
  if (handle !== undefined) await driver.destroy(handle).catch(() => undefined);
  await env?.cleanup();
});

const need = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Error('setup failed');
  return v;
};

describe('QEMU microVM on the agent network', () => {
  it(
    'the guest answers HTTP on the instance IP from the host',
    async () => {
      const n = need(net);
      const deadline = Date.now() + BOOT_TIMEOUT_MS;
      let body: string | undefined;
      while (body === undefined && Date.now() < deadline) {
        body = await fetchText(`http://${n.ip}:8080/`);
        if (body === undefined) await sleep(250);
      }
      expect(body).toBe('hello from the guest\n');
      // The host learnt the instance IP at the instance MAC: the guest itself owns the address.
      const neigh = await runTool('ip', ['neigh', 'show', n.ip, 'dev', n.hostIf]);
      expect(neigh.stdout).toContain(n.mac);
    },
    BOOT_TIMEOUT_MS + 10_000,
  );

  it('the app runs with its env, the secret (env and /run/secrets), uid and cwd', async () => {
    const n = need(net);
    const envText = await fetchText(`http://${n.ip}:8080/env.txt`);
    expect(envText).toContain(`SOVEREIGN_KEY=${secret}`);
    expect(envText).toContain('GREETING=hello');
    expect(envText).toContain('PWD=/www');
    expect(await fetchText(`http://${n.ip}:8080/secret.txt`)).toBe(secret);
    expect((await fetchText(`http://${n.ip}:8080/uid.txt`))?.trim()).toBe('1000');
  });

  it('the secret is on no host disk: only in the tmpfs config drive', async () => {
    const e = need(env);
    expect(await filesContaining(e.dir, secret)).toEqual([]);
    const drives = await filesContaining(e.configDriveDir, secret);
    expect(drives).toHaveLength(1);
  });

  it('stats report QEMU memory and CPU, limited to the guest RAM', async () => {
    const s = await driver.stats(need(handle));
    expect(s.memoryBytes).toBeGreaterThan(0);
    expect(s.cpuUsageNs).toBeGreaterThan(0);
    expect(s.memoryLimitBytes).toBe(need(spec).resources.memoryBytes);
  });

  it('stop leaves no TAP, bridge, process, image copy or config drive, and gives the veth back', async () => {
    const h = need(handle);
    const n = need(net);
    const e = need(env);
    const st = parseHandle(h, 'qemu');
    expect((await ourLinksIn(n.nsPath)).sort()).toEqual(['swgbr0', 'swgtap0']);
    await driver.stop(h, { graceMs: 3000 });
    expect(await livePid(st)).toBeNull();
    expect(await ourLinksIn(n.nsPath)).toEqual([]);
    expect(await findVeth(n.nsPath, n.ip)).toMatchObject({ ifname: 'eth0', mac: n.mac, gateway: n.gateway });
    expect(await stat(join(st.instanceDir, 'root.qcow2')).catch(() => null)).toBeNull();
    expect(await readdir(e.configDriveDir)).toEqual([]);
    // httpd got SIGTERM from the guest init and exited within the grace period.
    const status = await driver.inspect(h);
    expect(status.state).toBe('exited');
    expect(status.exitCode).toBe(143); // 128 + SIGTERM: the graceful path, not the kill
    expect(await stat(instanceFiles(st.instanceDir).resultFile)).toBeTruthy();
  }, 30_000);
});
