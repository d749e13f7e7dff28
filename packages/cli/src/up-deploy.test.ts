import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeTempDir,
  pushBusyboxImage,
  registerRuncExitCleanup,
  removeDir,
  runCli,
  startRegistry,
  type BusyboxImage,
  type CliResult,
  type RegistryServer,
  type ShellwegoProcess,
} from '@shellwego/testkit';
import { dialects } from '@shellwego/testkit/vitest';
// The agent's test helpers for real networks: unique names, a free subnet, cleanup by prefix.
import { registerExitCleanup, uniquePrefix } from '../../agent/src/network/test-net.js';
import { loginAsFirstAdmin, runcRootOf, startLocalUp, stopLocalUp } from './test-local-up.js';
import { loadLoop, until } from './test-load.js';

const execFileAsync = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> => (await execFileAsync(cmd, args)).stdout;
const isRoot = process.getuid?.() === 0;

interface Instance {
  id: string;
  release: number;
  health: string;
  address: string | null;
}

function webImage(registry: string, page: string, withIndex = true): Promise<BusyboxImage> {
  return pushBusyboxImage(registry, 'up/web', {
    cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & wait'],
    files: withIndex ? { 'www/index.html': page } : { 'www/other.html': page },
  });
}

// The end-to-end run, as a user runs it: `shellwego up` (root: it runs the agent), the CLI for the rest.
describe.skipIf(!isRoot).each(dialects)(
  'shellwego up deploys an app end to end on $name (needs root)',
  ({ databaseUrl }) => {
    let dir: string;
    let home: string;
    let prefix: string;
    let registry: RegistryServer | undefined;
    let up: ShellwegoProcess | undefined;
    let httpPort = 0;
    let httpsPort = 0;
    const images: Record<'v1' | 'v2' | 'v3', BusyboxImage> = {} as never;
    const cancels: (() => void)[] = [];
    const app = `up-${Math.random().toString(36).slice(2, 8)}`;
    const cli = (args: string[], timeoutMs = 120_000): Promise<CliResult> =>
      runCli(args, { env: { HOME: home }, timeoutMs });
    const runcRoot = (): string => runcRootOf(dir);
    const instances = async (): Promise<Instance[]> =>
      (JSON.parse((await cli(['status', app, '--json'])).stdout) as { instances: Instance[] }).instances;
    /** Through the edge, as a user's browser gets there: curl with the app's hostname resolved to this machine. */
    const viaEdge = async (extra: string[] = []): Promise<string> =>
      sh('curl', [
        '-sS',
        '--max-time',
        '5',
        ...extra,
        '--resolve',
        `${app}.localhost:${httpPort}:127.0.0.1`,
        `http://${app}.localhost:${httpPort}/`,
      ]);
    const get = async (address: string): Promise<string> => {
      const res = await fetch(`http://${address}/`, { signal: AbortSignal.timeout(2000) });
      return `${res.status} ${await res.text()}`;
    };

    beforeAll(async () => {
      dir = await makeTempDir('swg-up-e2e-');
      home = await makeTempDir('swg-up-home-');
      prefix = await uniquePrefix();
      cancels.push(registerExitCleanup(prefix), registerRuncExitCleanup(dir, runcRoot()));
      registry = await startRegistry();
      images.v1 = await webImage(registry.host, 'v1\n');
      images.v2 = await webImage(registry.host, 'v2\n');
      images.v3 = await webImage(registry.host, 'v3\n', false);
      const url = await databaseUrl();
      ({ up, httpPort, httpsPort } = await startLocalUp({
        dir,
        prefix,
        ...(url === undefined ? {} : { env: { DATABASE_URL: url } }),
      }));
      await loginAsFirstAdmin(up, home);
    });

    afterAll(async () => {
      await stopLocalUp(up, {
        dir,
        prefix,
        deleteApp: async () => {
          await cli(['apps', 'delete', app, '--yes']).catch(() => undefined);
          // The agent stops the app's containers (httpd exits on SIGTERM) before `up` goes.
        },
      });
      await registry?.stop();
      await removeDir(dir);
      await removeDir(home);
      for (const cancel of cancels) cancel();
    });

    it('deploys v1 and v2, rolls back a failing v3 with the reason, survives a SIGKILL of its agent, replaces a killed container', async () => {
      expect(await up?.stdoutText()).toMatch(/^ {2}Agent: {5}running/m);
      expect(
        (
          await cli([
            'apps',
            'create',
            app,
            '--memory',
            '64m',
            '--cpu',
            '0.25',
            '--health-interval',
            '1s',
            '--health-timeout',
            '1s',
          ])
        ).code,
      ).toBe(0);

      const first = await cli(['deploy', app, '--image', images.v1.reference]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe(`deployed ${app} release 1: http://${app}.localhost\n`);
      // Progress on stderr: the steps as they happen, and the instances of the new release.
      expect(first.stderr).toMatch(/starting\s+starting the new instances/);
      expect(first.stderr).toMatch(/instances\s+1\/1 running, 1 healthy/);
      const [one] = await instances();
      expect(await get(one?.address ?? '')).toBe('200 v1\n');
      await until(
        'the edge to route the app',
        async () => ((await viaEdge()) === 'v1\n' ? true : undefined),
        15_000,
      );
      // HTTPS on the app's hostname with a certificate of the local CA that `up` created.
      const caFile = join(dir, 'ca.pem');
      await writeFile(caFile, await (await fetch(`${up?.url ?? ''}/v1/edge/ca.pem`)).text());
      const https = await until('the certificate', async () =>
        sh('curl', [
          '-sS',
          '--max-time',
          '5',
          '--cacert',
          caFile,
          '--resolve',
          `${app}.localhost:${httpsPort}:127.0.0.1`,
          `https://${app}.localhost:${httpsPort}/`,
        ]),
      );
      expect(https).toBe('v1\n');

      // v2 under a keep-alive load loop through the edge: not one failed request.
      const load = loadLoop(httpPort, `${app}.localhost`);
      const second = await cli(['deploy', app, '--image', images.v2.reference]);
      expect(second.code, second.stderr).toBe(0);
      await until(
        'v2 through the edge',
        async () => ((await viaEdge()) === 'v2\n' ? true : undefined),
        10_000,
      );
      const counts = await load.stop();
      expect(counts.failed).toEqual([]);
      expect(counts.ok).toBeGreaterThan(50);
      expect(counts.bodies).toEqual(new Set(['v1\n', 'v2\n']));
      const [two] = await instances();
      expect(two?.release).toBe(2);
      expect(await get(two?.address ?? '')).toBe('200 v2\n');

      const third = await cli(['deploy', app, '--image', images.v3.reference]);
      expect(third.code).toBe(1);
      const lastLine = third.stderr.trim().split('\n').at(-1) ?? '';
      expect(lastLine).toMatch(
        /^error: deployment of release 3 failed and was rolled back: instance \S+ failed its health check: .*GET \/ answered 404.* \(DEPLOY_FAILED\)$/,
      );
      expect(await get(two?.address ?? '')).toBe('200 v2\n');
      const releases = JSON.parse((await cli(['releases', app, '--json'])).stdout) as {
        version: number;
        current: boolean;
      }[];
      expect(releases.map((r) => [r.version, r.current])).toEqual([
        [3, false],
        [2, true],
        [1, false],
      ]);

      // SIGKILL the agent: the app keeps serving; `up` starts it again and it re-adopts the container, same process.
      const pidOf = async (id: string): Promise<number> =>
        (JSON.parse(await sh('runc', ['--root', runcRoot(), 'state', id])) as { pid: number }).pid;
      const containerPid = await pidOf(two?.id ?? '');
      const agentPid = Number(
        (await sh('pgrep', ['-f', `agent --join ${up?.url ?? ''} --data-dir ${dir}`])).trim(),
      );
      expect(agentPid).toBeGreaterThan(0);
      process.kill(agentPid, 'SIGKILL');
      expect(await get(two?.address ?? '')).toBe('200 v2\n');
      expect(await viaEdge()).toBe('v2\n');
      const restarted = await until('a new agent', async () => {
        const pid = Number(
          (await sh('pgrep', ['-f', `agent --join ${up?.url ?? ''} --data-dir ${dir}`])).trim(),
        );
        return pid > 0 && pid !== agentPid ? pid : undefined;
      });
      expect(restarted).not.toBe(agentPid);
      expect(await up?.stderrText()).toMatch(/agent exited \(SIGKILL\); restarting/);
      await until('healthy again under the new agent', async () =>
        (await instances()).every((i) => i.health === 'healthy') ? true : undefined,
      );
      expect(await pidOf(two?.id ?? '')).toBe(containerPid);
      expect((await instances()).map((i) => i.id)).toEqual([two?.id]);

      // Scale to 3, then kill one container from outside (as the OOM killer or an operator would): replaced.
      const scaled = await cli(['scale', app, '3']);
      expect(scaled.code, scaled.stderr).toBe(0);
      const three = await until('3 healthy instances', async () => {
        const list = await instances();
        return list.length === 3 && list.every((i) => i.health === 'healthy') ? list : undefined;
      });
      const victim = three.find((i) => i.id !== two?.id) ?? three[0];
      const victimPid = await pidOf(victim?.id ?? '');
      process.kill(victimPid, 'SIGKILL');
      await until('the killed instance to be replaced', async () => {
        const list = await instances();
        if (list.length !== 3 || !list.every((i) => i.health === 'healthy')) return undefined;
        // Restarted in place (same id, a new process) or replaced by a new instance.
        const again = list.find((i) => i.id === victim?.id);
        return again === undefined || (await pidOf(again.id)) !== victimPid ? true : undefined;
      });
      expect(await viaEdge()).toBe('v2\n');
    }, 240_000);
  },
);
