import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeTempDir,
  pushBusyboxImage,
  registerRuncExitCleanup,
  removeDir,
  request,
  runCli,
  startRegistry,
  type CliResult,
  type RegistryServer,
  type ShellwegoProcess,
} from '@shellwego/testkit';
import { registerExitCleanup, uniquePrefix } from '../../agent/src/network/test-net.js';
import { loginAsFirstAdmin, runcRootOf, startLocalUp, stopLocalUp } from './test-local-up.js';
import { until } from './test-load.js';

const execFileAsync = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> => (await execFileAsync(cmd, args)).stdout;
const isRoot = process.getuid?.() === 0;

// A volume attached to an app through the API, as a user would: its data outlives the app's releases.
describe.skipIf(!isRoot)('shellwego up mounts app volumes (needs root)', () => {
  let dir: string;
  let home: string;
  let prefix: string;
  let registry: RegistryServer | undefined;
  let up: ShellwegoProcess | undefined;
  let httpPort = 0;
  let token = '';
  const cancels: (() => void)[] = [];
  const app = `vol-${Math.random().toString(36).slice(2, 8)}`;
  const cli = (args: string[], timeoutMs = 120_000): Promise<CliResult> =>
    runCli(args, { env: { HOME: home }, timeoutMs });
  const runcRoot = (): string => runcRootOf(dir);
  const api = (method: string, path: string, body?: unknown) =>
    request(up?.url ?? '', method, path, { token, ...(body === undefined ? {} : { body }) });
  const viaEdge = async (path: string): Promise<string> =>
    sh('curl', [
      '-sS',
      '--max-time',
      '5',
      '--resolve',
      `${app}.localhost:${httpPort}:127.0.0.1`,
      `http://${app}.localhost:${httpPort}${path}`,
    ]);

  beforeAll(async () => {
    dir = await makeTempDir('swg-up-vol-');
    home = await makeTempDir('swg-up-vol-home-');
    prefix = await uniquePrefix();
    cancels.push(registerExitCleanup(prefix), registerRuncExitCleanup(dir, runcRoot()));
    registry = await startRegistry();
    ({ up, httpPort } = await startLocalUp({ dir, prefix }));
    await loginAsFirstAdmin(up, home);
    const login = await request(up.url, 'POST', '/v1/auth/login', {
      body: { email: 'admin@shellwego.local', password: up.password },
    });
    token = (login.body as { access_token: string }).access_token;
  });

  afterAll(async () => {
    await stopLocalUp(up, {
      dir,
      prefix,
      deleteApp: async () => {
        await cli(['apps', 'delete', app, '--yes']).catch(() => undefined);
      },
    });
    await registry?.stop();
    await removeDir(dir);
    await removeDir(home);
    for (const cancel of cancels) cancel();
  });

  it('keeps what one release wrote in the volume for the next, on the node, named by volume id', async () => {
    // Every start appends a line to /data/boots; httpd serves /data.
    const image = (tag: string) =>
      pushBusyboxImage(registry?.host ?? '', `vol/web-${tag}`, {
        cmd: [
          '/bin/sh',
          '-c',
          `echo "${tag}" >> /data/boots; trap "exit 0" TERM; httpd -f -p "$PORT" -h /data & wait`,
        ],
        files: { [`www/${tag}.txt`]: tag },
      });
    const [v1, v2] = [await image('v1'), await image('v2')];
    const created = await cli(['apps', 'create', app, '--memory', '64m', '--health-path', '/boots']);
    expect(created.code, created.stderr).toBe(0);

    const refused = await api('POST', '/v1/volumes', {
      name: 'bad',
      size: '64m',
      app,
      mount_path: '/proc/x',
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { field: 'mount_path' } });
    const volume = await api('POST', '/v1/volumes', { name: 'data', size: '64m', app, mount_path: '/data' });
    expect(volume.status, JSON.stringify(volume.body)).toBe(201);
    const { id, status } = volume.body as { id: string; status: string };
    expect(status).toBe('pending');

    const first = await cli(['deploy', app, '--image', v1.reference]);
    expect(first.code, first.stderr).toBe(0);
    await until('v1 through the edge', async () => ((await viaEdge('/boots')) === 'v1\n' ? true : undefined));
    expect(((await api('GET', `/v1/volumes/${id}`)).body as { status: string }).status).toBe('ready');

    const second = await cli(['deploy', app, '--image', v2.reference]);
    expect(second.code, second.stderr).toBe(0);
    // The new release's instance found the old one's line: the volume outlived the release.
    await until('v2 through the edge', async () =>
      (await viaEdge('/boots')) === 'v1\nv2\n' ? true : undefined,
    );
    // On the node, as a directory named by the volume's id.
    expect(await readFile(join(dir, 'agent', 'volumes', id, 'boots'), 'utf8')).toBe('v1\nv2\n');
  }, 180_000);
});
