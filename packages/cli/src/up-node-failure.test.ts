import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_ENTRY,
  makeTempDir,
  onExitCleanup,
  pushBusyboxImage,
  registerRuncExitCleanup,
  removeDir,
  runCli,
  startRegistry,
  type CliResult,
  type RegistryServer,
  type ShellwegoProcess,
} from '@shellwego/testkit';
// The agent's test helpers for real networks: unique names, a free subnet, cleanup by prefix.
import { freeSubnet, registerExitCleanup, uniquePrefix } from '../../agent/src/network/test-net.js';
import {
  containersUnder,
  loginAsFirstAdmin,
  runcRootOf,
  startLocalUp,
  stopLocalUp,
} from './test-local-up.js';
import { loadLoop, until } from './test-load.js';

const execFileAsync = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> => (await execFileAsync(cmd, args)).stdout;
const isRoot = process.getuid?.() === 0;

interface Instance {
  id: string;
  node_id: string;
  state: string;
  health: string;
}
interface Node {
  id: string;
  name: string;
  status: string;
}

/** Deletes every container under a runc root (the test's own), whatever state it is in. */
async function deleteContainers(runcRoot: string): Promise<void> {
  for (const id of await containersUnder(runcRoot))
    await sh('runc', ['--root', runcRoot, 'delete', '--force', id]).catch(() => undefined);
}

// The node failure, with two real agents on this machine (each with its own bridge, subnet and data dir):
// a node whose agent and containers die is marked unreachable, its instances are placed on the other node, and the
// edge stops sending requests to them — the app serves again within 60 s, the edge drops the dead upstream in 5 s.
describe.skipIf(!isRoot)(
  'a failed node: its instances move and the edge stops routing to them (needs root)',
  () => {
    let dir: string;
    let dir2: string;
    let home: string;
    let prefix: string;
    let prefix2: string;
    let registry: RegistryServer | undefined;
    let up: ShellwegoProcess | undefined;
    let agent2: ChildProcess | undefined;
    let httpPort = 0;
    const cancels: (() => void)[] = [];
    const app = `nf-${Math.random().toString(36).slice(2, 8)}`;
    const cli = (args: string[], timeoutMs = 120_000): Promise<CliResult> =>
      runCli(args, { env: { HOME: home }, timeoutMs });
    const runcRoot = runcRootOf;
    const instances = async (): Promise<Instance[]> =>
      (JSON.parse((await cli(['status', app, '--json'])).stdout) as { instances: Instance[] }).instances;
    const nodes = async (): Promise<Node[]> =>
      JSON.parse((await cli(['nodes', 'ls', '--json'])).stdout) as Node[];
    const viaEdge = async (): Promise<string> =>
      sh('curl', [
        '-sS',
        '--max-time',
        '5',
        '--resolve',
        `${app}.localhost:${httpPort}:127.0.0.1`,
        `http://${app}.localhost:${httpPort}/`,
      ]);

    beforeAll(async () => {
      dir = await makeTempDir('swg-nf-');
      dir2 = await makeTempDir('swg-nf-node2-');
      home = await makeTempDir('swg-nf-home-');
      prefix = await uniquePrefix();
      prefix2 = await uniquePrefix();
      cancels.push(
        registerExitCleanup(prefix),
        registerExitCleanup(prefix2),
        registerRuncExitCleanup(dir, runcRoot(dir)),
        registerRuncExitCleanup(dir2, runcRoot(dir2)),
        onExitCleanup(() => agent2?.kill('SIGKILL')),
      );
      registry = await startRegistry();
      ({ up, httpPort } = await startLocalUp({ dir, prefix }));
      await loginAsFirstAdmin(up, home);
    });

    afterAll(async () => {
      agent2?.kill('SIGKILL');
      await stopLocalUp(up, { dir, prefix, deleteApp: () => cli(['apps', 'delete', app, '--yes']) });
      // Node 2 has no `up` of its own: only its leftover containers, mounts and links to remove.
      await stopLocalUp(undefined, { dir: dir2, prefix: prefix2 });
      await registry?.stop();
      for (const d of [dir, dir2, home]) await removeDir(d);
      for (const cancel of cancels) cancel();
    });

    it('moves the instances of a dead node and keeps the app serving', async () => {
      const image = await pushBusyboxImage(registry?.host ?? '', 'nf/web', {
        cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & wait'],
        files: { 'www/index.html': 'v1\n' },
      });
      // A second node, joined as an operator would: a join token from the CLI, `shellwego agent` on the "other" host.
      const token = await cli(['nodes', 'join-token']);
      expect(token.code, token.stderr).toBe(0);
      // prettier-ignore
      agent2 = spawn(process.execPath, [
      CLI_ENTRY, 'agent', '--join', up?.url ?? '', '--token', token.stdout.trim(), '--data-dir', dir2,
      '--name', 'node-2', '--bridge', `${prefix2}br`, '--subnet', await freeSubnet(),
      '--network-prefix', prefix2, '--metrics-port', '0', '--log-level', 'warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
      let agent2Log = '';
      agent2.stderr?.on('data', (d: Buffer) => (agent2Log += d.toString()));
      const both = await until('two ready nodes', async () => {
        const list = await nodes();
        return list.length === 2 && list.every((n) => n.status === 'ready') ? list : undefined;
      }).catch((e: unknown) => {
        throw new Error(`${String(e)}; node-2's agent said:\n${agent2Log}`);
      });
      const second = both.find((n) => n.name === 'node-2');
      expect(second).toBeDefined();

      const created = await cli([
        'apps',
        'create',
        app,
        '--memory',
        '64m',
        '--cpu',
        '0.25',
        '--replicas',
        '2',
        '--health-interval',
        '1s',
        '--health-timeout',
        '1s',
      ]);
      expect(created.code, created.stderr).toBe(0);
      const deployed = await cli(['deploy', app, '--image', image.reference]);
      expect(deployed.code, deployed.stderr).toBe(0);
      // The scheduler spreads the two replicas: one on each node.
      const placed = await instances();
      expect(new Set(placed.map((i) => i.node_id))).toEqual(new Set(both.map((n) => n.id)));
      await until('the edge to route the app', async () => ((await viaEdge()) === 'v1\n' ? true : undefined));

      // Node 2 dies: its agent and its containers, all at once (as a power cut would).
      const load = loadLoop(httpPort, `${app}.localhost`);
      await new Promise((r) => setTimeout(r, 500));
      const failedAt = Date.now();
      agent2?.kill('SIGKILL');
      await deleteContainers(runcRoot(dir2));

      // The control plane marks it unreachable after 30 s of silence and places its instance on node 1.
      const moved = await until(
        'the instance to be placed elsewhere',
        async () => {
          const list = await instances();
          return list.length === 2 &&
            list.every((i) => i.node_id !== second?.id && i.state === 'running' && i.health === 'healthy')
            ? list
            : undefined;
        },
        60_000,
      );
      const servingAgainMs = Date.now() - failedAt;
      expect(servingAgainMs).toBeLessThan(60_000);
      expect(moved).toHaveLength(2);
      expect((await nodes()).find((n) => n.id === second?.id)?.status).toBe('unreachable');
      const counts = await load.stop();
      // The edge stops sending requests to the dead upstream within 5 s (its checks and failed connects take it out).
      expect(counts.failed.filter((f) => f.at > failedAt + 5_000)).toEqual([]);
      expect(counts.ok).toBeGreaterThan(50);
      expect(await viaEdge()).toBe('v1\n');
    }, 180_000);
  },
);
