import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { schemas } from '@shellwego/core';
import { makeTempDir, removeDir, request } from '@shellwego/testkit';
import { expectErrorLine, expectSuccess, useLoggedInSession } from './test-session.js';

const s = useLoggedInSession();
const CLI_ENTRY = fileURLToPath(new URL('../dist/shellwego.mjs', import.meta.url));
const history = ['booting', 'listening on 8080', 'GET / 200'];

/**
 * Plays the agent over the real node protocol: reads its watch and answers each log request by dialling back with
 * the tail of `history`, then (with follow) a line every 100 ms.
 */
async function startFakeNode(
  adminToken: string,
): Promise<{ nodeId: string; credential: string; close(): void }> {
  const jt = await request(s.cp.url, 'POST', '/v1/nodes/join-tokens', { token: adminToken, body: {} });
  const reg = await request(s.cp.url, 'POST', '/v1/nodes/register', {
    body: {
      join_token: (jt.body as { token: string }).token,
      name: 'log-node',
      runtimes: ['runc'],
      capacity: { memory_bytes: 8 * 1024 ** 3, cpu_milli: 4000, disk_bytes: 100 * 1024 ** 3 },
    },
  });
  const { node_id: nodeId, credential } = reg.body as { node_id: string; credential: string };
  const headers = { authorization: `Bearer ${credential}` };
  const ws = (path: string): WebSocket =>
    new WebSocket(`${s.cp.url.replace(/^http/, 'ws')}${path}`, { headers });
  const sockets = new Set<WebSocket>();
  const watch = ws(`/v1/nodes/${nodeId}/watch`);
  sockets.add(watch);
  watch.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { type?: string };
    if (message.type !== 'logs') return;
    const req = schemas.logRequest.parse(message);
    const socket = ws(`/v1/nodes/${nodeId}/logs/${req.id}`);
    sockets.add(socket);
    const send = (line: string): void =>
      socket.send(
        JSON.stringify({
          instance_id: req.instance_id,
          stream: 'stdout',
          line,
          at: new Date().toISOString(),
        }),
      );
    let timer: NodeJS.Timeout | undefined;
    socket.on('open', () => {
      for (const line of history.slice(-req.tail)) send(line);
      if (!req.follow) return socket.close(1000);
      let n = 0;
      timer = setInterval(() => send(`live ${String(++n)}`), 100);
    });
    socket.on('close', () => clearInterval(timer));
    socket.on('error', () => undefined);
  });
  await new Promise((resolve, reject) => {
    watch.once('open', resolve);
    watch.once('error', reject);
  });
  return {
    nodeId,
    credential,
    close: () => {
      for (const socket of sockets) socket.terminate();
    },
  };
}

describe('shellwego logs', () => {
  let node: { nodeId: string; credential: string; close(): void } | undefined;
  let instanceId = '';

  beforeAll(async () => {
    const token = await s.cp.adminToken();
    node = await startFakeNode(token);
    await request(s.cp.url, 'POST', '/v1/apps', { token, body: { name: 'talky', port: 8080 } });
    const dep = await request(s.cp.url, 'POST', '/v1/apps/talky/deployments', {
      token,
      body: { image: 'registry.test/talky:v1' },
    });
    expect(dep.status, JSON.stringify(dep.body)).toBe(202);
    const deadline = Date.now() + 10_000;
    while (instanceId === '') {
      const state = await request(s.cp.url, 'GET', `/v1/nodes/${node.nodeId}/watch`, {
        token: node.credential,
      });
      instanceId = (state.body as { instances: { id: string }[] }).instances[0]?.id ?? '';
      if (instanceId === '' && Date.now() > deadline) throw new Error('the instance was never placed');
      if (instanceId === '') await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(() => node?.close());

  it('prints the last lines of each instance and exits 0', async () => {
    const r = await s.cli(['logs', 'talky', '--tail', '2']);
    expectSuccess(r);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z ${instanceId}\\[stdout\\]: listening on 8080$`),
    );
    expect(lines[1]).toMatch(new RegExp(`${instanceId}\\[stdout\\]: GET / 200$`));

    const json = await s.cli(['logs', 'talky', '--json', '--instance', instanceId]);
    expectSuccess(json);
    const parsed = json.stdout
      .trim()
      .split('\n')
      .map((l) => schemas.logLine.parse(JSON.parse(l)));
    expect(parsed.map((l) => l.line)).toEqual(history);
  });

  it('follows new lines until Ctrl-C, then exits 0', async () => {
    const dir = await makeTempDir('swg-logs-');
    try {
      const stdout = await open(join(dir, 'stdout'), 'w');
      const stderr = await open(join(dir, 'stderr'), 'w');
      const child = spawn(process.execPath, [CLI_ENTRY, 'logs', 'talky', '-f', '--tail', '1'], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          LANG: 'C.UTF-8',
          HOME: s.home,
          XDG_CONFIG_HOME: join(s.home, '.config'),
        },
        stdio: ['ignore', stdout.fd, stderr.fd],
      });
      await stdout.close();
      await stderr.close();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const text = (): Promise<string> => readFile(join(dir, 'stdout'), 'utf8');
      try {
        await expect.poll(text, { timeout: 15_000 }).toMatch(/live 3\n/);
      } finally {
        child.kill('SIGINT');
      }
      expect(await exited).toBe(0);
      const lines = (await text()).trim().split('\n');
      expect(lines[0]).toMatch(/\[stdout\]: GET \/ 200$/);
      expect(lines.slice(1, 4).map((l) => l.replace(/^.*: /, ''))).toEqual(['live 1', 'live 2', 'live 3']);
      expect(await readFile(join(dir, 'stderr'), 'utf8')).toBe('');
    } finally {
      await removeDir(dir);
    }
  });

  it('reports an unknown app in one line and exits 1', async () => {
    expectErrorLine(await s.cli(['logs', 'nope-no-such-app']), 'APP_NOT_FOUND');
    expectErrorLine(await s.cli(['logs', 'talky', '--tail', 'lots']), 'VALIDATION_FAILED');
    // Refused at the upgrade itself: the API's JSON error becomes the same one line.
    const line = expectErrorLine(await s.cli(['logs', 'talky', '--instance', 'ins_nope']), 'NOT_FOUND');
    expect(line).toContain('no running instance ins_nope');
  });
});
