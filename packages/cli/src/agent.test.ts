import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, request, runCli, startTestControlPlane } from '@shellwego/testkit';
import type { TestControlPlane } from '@shellwego/testkit';

const CLI = fileURLToPath(new URL('../dist/shellwego.mjs', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function nodeNamed(
  cp: TestControlPlane,
  name: string,
): Promise<{ id: string; status: string } | undefined> {
  const res = await request(cp.url, 'GET', '/v1/nodes', { token: await cp.adminToken() });
  return (res.body as { items: { id: string; name: string; status: string }[] }).items.find(
    (n) => n.name === name,
  );
}

describe('shellwego agent', () => {
  it('registers, appears in GET /v1/nodes and exits 0 on SIGTERM', async () => {
    const cp = await startTestControlPlane();
    cleanups.push(() => cp.close());
    const dataDir = await makeTempDir('swg-agent-cli-');
    cleanups.push(() => removeDir(dataDir));
    const jt = await request(cp.url, 'POST', '/v1/nodes/join-tokens', {
      token: await cp.adminToken(),
      body: {},
    });
    const token = (jt.body as { token: string }).token;

    const child = spawn(
      process.execPath,
      [
        CLI,
        'agent',
        '--join',
        cp.url,
        '--token',
        token,
        '--data-dir',
        dataDir,
        '--name',
        'cli-agent',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => Promise.resolve(child.kill('SIGKILL')));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );

    const deadline = Date.now() + 15_000;
    let node = await nodeNamed(cp, 'cli-agent');
    while (node === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      node = await nodeNamed(cp, 'cli-agent');
    }
    expect(node, stderr).toMatchObject({ status: 'ready' });
    // Waits for the startup line, so the signal handlers are in place.
    while (!stderr.includes('Agent running') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toContain(`Agent running as node ${node?.id ?? ''}.`);

    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toContain('SIGTERM: stopping');
  });

  it('refuses a CPU overcommit outside 1 to 100 with one line, before starting anything', async () => {
    for (const cmd of [
      ['agent', '--join', 'http://127.0.0.1:9', '--cpu-overcommit', '0'],
      ['up', '--cpu-overcommit', 'lots'],
    ]) {
      const r = await runCli(cmd);
      expect(r.code, cmd.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/--cpu-overcommit: ".+" is not a ratio from 1 to 100/);
    }
  });
});
