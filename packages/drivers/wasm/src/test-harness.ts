import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceSpec } from '@shellwego/driver-sdk';
import { freePort, makeTempDir, onExitCleanup, removeDir } from '@shellwego/testkit';
import { hostPaths } from './host-paths.js';
import type { BuiltModule } from './test-modules.js';

export interface WasmTestEnv {
  dir: string;
  stateDir: string;
  logDir: string;
  modulesDir: string;
  /** A spec for `module` listening on 127.0.0.1 and a free port (PORT in env). */
  spec(name: string, module: BuiltModule, overrides?: SpecOverrides): Promise<InstanceSpec>;
  /** The pid of the state dir's host, or null when none wrote its pid file. */
  hostPid(): Promise<number | null>;
  cleanup(): Promise<void>;
}

export interface SpecOverrides {
  env?: string[];
  secrets?: Record<string, string>;
  memoryBytes?: number;
  volumes?: InstanceSpec['volumes'];
  digest?: string;
}

function killSync(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stops a host: SIGTERM, then SIGKILL if it is still there after 2 s. */
export async function stopHost(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 40; i++) {
    await sleep(50);
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  killSync(pid);
}

/** A per-run directory (state, logs, modules) whose host is stopped in cleanup and, if the run dies, at exit. */
export async function makeWasmTestEnv(): Promise<WasmTestEnv> {
  const dir = await makeTempDir('swg-wasm-');
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'logs');
  const modulesDir = join(dir, 'modules');
  await mkdir(modulesDir, { recursive: true });
  const prefix = `w${randomBytes(3).toString('hex')}`;
  const pids = new Set<number>();
  const readPid = async (): Promise<number | null> => {
    const text = await readFile(hostPaths(stateDir).pidFile, 'utf8').catch(() => null);
    const pid = text === null ? NaN : Number.parseInt(text, 10);
    if (!Number.isInteger(pid)) return null;
    pids.add(pid);
    return pid;
  };
  const cancelExitHook = onExitCleanup(() => {
    for (const pid of pids) killSync(pid);
  });
  return {
    dir,
    stateDir,
    logDir,
    modulesDir,
    async spec(name, module, o = {}) {
      await readPid(); // remember every host we may have started, for cleanup
      return {
        instanceId: `${prefix}-${name}`,
        appId: 'app_test',
        rootfs: modulesDir,
        process: {
          args: ['module.wasm'],
          env: [`PORT=${await freePort()}`, ...(o.env ?? [])],
          cwd: '/',
          user: { uid: 0, gid: 0 },
        },
        hostname: name,
        resources: { memoryBytes: o.memoryBytes ?? 16 * 1024 * 1024, cpuMilli: 500, pidsLimit: 64 },
        secrets: o.secrets ?? {},
        network: { ip: '127.0.0.1', prefix: 24, gateway: '127.0.0.1', mac: '02:00:00:00:00:01' },
        artifact: { path: module.path, digest: o.digest ?? module.digest },
        volumes: o.volumes ?? [],
        logDir,
        stateDir,
      };
    },
    hostPid: readPid,
    async cleanup() {
      await readPid();
      for (const pid of pids) await stopHost(pid);
      await removeDir(dir);
      cancelExitHook();
    },
  };
}

/** The instance's URL, from the spec's network ip and PORT. */
export function urlOf(spec: InstanceSpec, path = '/'): string {
  const port = spec.process.env.find((e) => e.startsWith('PORT='))?.slice(5);
  return `http://${spec.network?.ip ?? '127.0.0.1'}:${port}${path}`;
}
