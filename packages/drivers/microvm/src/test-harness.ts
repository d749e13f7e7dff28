import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceSpec } from '@shellwego/driver-sdk';
import { buildBusyboxRootfs, makeTempDir, onExitCleanup, removeDir } from '@shellwego/testkit';
import { installKernel, type InstalledKernel } from './kernel.js';
import { mustRun, runTool } from './run-tool.js';

/** Kernel and initramfs are cached across runs: the first run downloads Debian's cloud kernel (~27 MB). */
export const TEST_KERNEL_DIR = '/var/cache/shellwego-test/kernel';
/** A microVM boot under TCG on a busy 2-core machine: seconds, sometimes many. */
export const BOOT_TIMEOUT_MS = 60_000;

export interface MicrovmTestEnv {
  dir: string;
  prefix: string;
  kernel: InstalledKernel;
  stateDir: string;
  logDir: string;
  configDriveDir: string;
  runDir: string;
  spec(name: string, overrides?: Partial<InstanceSpec>): InstanceSpec;
  /** Builds an image tree under the env (busybox plus extra applets and files). */
  image(name: string, files?: Record<string, string>): Promise<string>;
  /** A namespace with a veth pair as the agent makes one: the host end holds the gateway address. */
  netns(name: string): Promise<TestNet>;
  cleanup(): Promise<void>;
}

export interface TestNet {
  nsName: string;
  nsPath: string;
  hostIf: string;
  ip: string;
  gateway: string;
  mac: string;
}

/** A fresh id prefix per test file (namespaces, instances, tmpfs dirs). */
export const newTestPrefix = (): string => `mv${randomBytes(3).toString('hex')}`;

/** Driver options pointing at the test kernel cache and per-run tmpfs/socket dirs; usable before beforeAll. */
export function testDriverOptions(prefix: string): {
  kernelDir: string;
  configDriveDir: string;
  runDir: string;
} {
  return {
    kernelDir: TEST_KERNEL_DIR,
    configDriveDir: `/dev/shm/swg-test-${prefix}`,
    runDir: `/run/swg-test-${prefix}`,
  };
}

const APPLETS = ['sh', 'echo', 'sleep', 'httpd', 'cat', 'env', 'id', 'mkdir', 'cp', 'ls', 'sync'];

/**
 * Per-run dirs, kernel, and cleanup of everything a test may leave: VMM processes (by the pid files under the run
 * dir), namespaces and host veths with the run's prefix, the tmpfs config dir, the temp dir. Registered for exit too.
 */
export async function makeMicrovmTestEnv(prefix: string): Promise<MicrovmTestEnv> {
  const kernel = await installKernel({ dir: TEST_KERNEL_DIR });
  const dir = await makeTempDir('swg-mvm-');
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'logs');
  const { configDriveDir, runDir } = testDriverOptions(prefix);
  const nets: TestNet[] = [];
  const defaultRootfs = await buildBusyboxRootfs(join(dir, 'images', 'default'), { applets: APPLETS });

  const syncCleanup = (): void => {
    const cmds = [
      `for p in $(find ${stateDir} -name vmm.pid 2>/dev/null); do kill -9 $(cat $p) 2>/dev/null; done`,
      ...nets.flatMap((n) => [`ip netns del ${n.nsName}`, `ip link del ${n.hostIf}`]),
      `rm -rf ${configDriveDir} ${runDir} ${dir}`,
    ];
    for (const cmd of cmds) {
      try {
        execSync(cmd, { stdio: 'ignore', shell: '/bin/sh' });
      } catch {
        // best effort: one failure must not stop the rest
      }
    }
  };
  const cancelExitHook = onExitCleanup(syncCleanup);

  return {
    dir,
    prefix,
    kernel,
    stateDir,
    logDir,
    configDriveDir,
    runDir,
    spec(name, overrides = {}) {
      return {
        instanceId: `${prefix}-${name}`,
        appId: 'app_test',
        rootfs: defaultRootfs,
        process: {
          // Ignores SIGTERM so the conformance suite exercises the kill path.
          args: ['/bin/sh', '-c', 'trap "" TERM; echo started; env; while :; do sleep 1; done'],
          env: ['PATH=/bin', 'GREETING=hello'],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
        hostname: name,
        resources: { memoryBytes: 96 * 1024 * 1024, cpuMilli: 1000, pidsLimit: 64 },
        secrets: {},
        logDir,
        stateDir,
        ...overrides,
      };
    },
    async image(name, files = {}) {
      return buildBusyboxRootfs(join(dir, 'images', name), { applets: APPLETS, files });
    },
    async netns(name) {
      // A /24 in 10.247.0.0/16 nothing on the host routes yet.
      let third = 0;
      for (let i = 0; i < 50 && third === 0; i++) {
        const n = 1 + Math.floor(Math.random() * 250);
        const r = await runTool('ip', ['route', 'show', `10.247.${n}.0/24`]);
        if (r.stdout.trim() === '') third = n;
      }
      if (third === 0) throw new Error('no free 10.247.x.0/24 for the test network');
      const net: TestNet = {
        nsName: `${prefix}-${name}`.slice(0, 15),
        nsPath: `/var/run/netns/${`${prefix}-${name}`.slice(0, 15)}`,
        hostIf: `${prefix}h${name}`.slice(0, 15),
        ip: `10.247.${third}.2`,
        gateway: `10.247.${third}.1`,
        mac: `02:00:00:f7:${third.toString(16).padStart(2, '0')}:02`,
      };
      nets.push(net);
      await mustRun('ip', ['netns', 'add', net.nsName]);
      await mustRun('ip', [
        'link',
        'add',
        net.hostIf,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'address',
        net.mac,
        'netns',
        net.nsName,
      ]);
      await mustRun('ip', ['addr', 'add', `${net.gateway}/24`, 'dev', net.hostIf]);
      await mustRun('ip', ['link', 'set', net.hostIf, 'up']);
      await mustRun('ip', ['-n', net.nsName, 'addr', 'add', `${net.ip}/24`, 'dev', 'eth0']);
      await mustRun('ip', ['-n', net.nsName, 'link', 'set', 'lo', 'up']);
      await mustRun('ip', ['-n', net.nsName, 'link', 'set', 'eth0', 'up']);
      await mustRun('ip', ['-n', net.nsName, 'route', 'add', 'default', 'via', net.gateway, 'dev', 'eth0']);
      const route = await mustRun('ip', ['route', 'get', net.ip]);
      if (!route.includes(`dev ${net.hostIf}`))
        throw new Error(`route to ${net.ip} does not use ${net.hostIf}: ${route}`);
      return net;
    },
    async cleanup() {
      syncCleanup();
      await removeDir(dir);
      cancelExitHook();
    },
  };
}

/** Regular files under `dir` whose content contains `needle`. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const rel of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    const p = join(dir, rel);
    const s = await stat(p).catch(() => null);
    if (s === null || !s.isFile()) continue;
    if ((await readFile(p)).includes(needle)) hits.push(p);
  }
  return hits;
}
