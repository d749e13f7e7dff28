import { afterAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeDir, runCli, startShellwegoProcess } from '@shellwego/testkit';
import type { ShellwegoProcess } from '@shellwego/testkit';

const started: ShellwegoProcess[] = [];
let dataDir: string | undefined;

afterAll(async () => {
  for (const p of started) await p.stop();
  if (dataDir) await removeDir(dataDir);
});

async function up(dir: string, port: number): Promise<ShellwegoProcess> {
  const p = await startShellwegoProcess([
    'up',
    '--data-dir',
    dir,
    '--api-port',
    String(port),
    '--log-level',
    'warn',
    '--no-agent',
    '--no-edge',
  ]);
  started.push(p);
  return p;
}

describe('shellwego up', () => {
  it('prints the password once, keeps it across restarts and stops cleanly on SIGTERM', async () => {
    dataDir = await makeTempDir('swg-up-');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;

    const first = await up(dataDir, port);
    expect(first.url).toBe(url);
    const password = first.password;
    expect(password).toMatch(/^\S{12,}$/);
    const banner = await first.stdoutText();
    expect(banner).toBe(
      [
        'ShellWeGo is up.',
        `  API:       ${url}`,
        `  Dashboard: ${url}/`,
        '  Agent:     not started (--no-agent)',
        '  Apps:      not served (--no-edge)',
        '  Admin:     admin@shellwego.local',
        `  Password:  ${password}   (shown once: change it after logging in)`,
        '',
      ].join('\n'),
    );

    const login = (pw: string) =>
      runCli(['login', '--url', url, '--email', 'admin@shellwego.local'], { input: `${pw}\n` });
    expect((await login(password ?? '')).code).toBe(0);

    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(await first.stderrText()).toBe('SIGTERM: stopping\n');

    const second = await up(dataDir, port);
    expect(second.password).toBeUndefined();
    const again = await second.stdoutText();
    expect(again).toBe(
      [
        'ShellWeGo is up.',
        `  API:       ${url}`,
        `  Dashboard: ${url}/`,
        '  Agent:     not started (--no-agent)',
        '  Apps:      not served (--no-edge)',
        '',
      ].join('\n'),
    );
    expect(again).not.toContain(password);
    const relogin = await login(password ?? '');
    expect(relogin.stderr).toBe('');
    expect(relogin.code).toBe(0);

    second.kill('SIGINT');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});
