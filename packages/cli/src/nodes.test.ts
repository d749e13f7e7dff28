import { describe, expect, it } from 'vitest';
import { request } from '@shellwego/testkit';
import { expectErrorLine, expectSuccess, useLoggedInSession } from './test-session.js';

const s = useLoggedInSession();

describe('shellwego nodes', () => {
  it('creates a join token with the command to run, and lists the node that joined with it', async () => {
    const created = await s.cli(['nodes', 'join-token', '--ttl-hours', '2']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^swgj_\S+$/);
    expect(created.stderr).toContain(`shellwego agent --join ${s.cp.url} --token ${token}`);

    const registered = await request(s.cp.url, 'POST', '/v1/nodes/register', {
      body: {
        join_token: token,
        name: 'worker-1',
        runtimes: ['runc'],
        capacity: { memory_bytes: 8 * 1024 ** 3, cpu_milli: 4000, disk_bytes: 100 * 1024 ** 3 },
      },
    });
    expect(registered.status).toBe(201);

    const table = await s.cli(['nodes', 'ls']);
    expectSuccess(table);
    expect(table.stdout).toMatch(/worker-1\s+ready\s+runc/);
    const json = await s.cli(['nodes', 'ls', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ name: 'worker-1', status: 'ready', runtimes: ['runc'] }),
    ]);
  });

  it('refuses a bad --ttl-hours with one line', async () => {
    expectErrorLine(await s.cli(['nodes', 'join-token', '--ttl-hours', 'soon']), 'VALIDATION_FAILED');
  });
});
