import { describe, expect, it } from 'vitest';
import { freePort, runCli } from '@shellwego/testkit';
import { expectErrorLine, useLoggedInSession } from './test-session.js';

const s = useLoggedInSession();

describe('errors: one line on stderr, exit 1; usage errors exit 2', () => {
  it('names the field of a bad app name', async () => {
    const line = expectErrorLine(await s.cli(['apps', 'create', 'Bad_Name']), 'VALIDATION_FAILED');
    expect(line).toMatch(/^error: name: must be a DNS label/);
  });

  it('names the field of a bad memory size, port or replica count', async () => {
    const memory = expectErrorLine(
      await s.cli(['apps', 'create', 'ok-app', '--memory', '-1']),
      'VALIDATION_FAILED',
    );
    expect(memory).toMatch(/^error: resources\.memory: /);
    const port = expectErrorLine(
      await s.cli(['apps', 'create', 'ok-app', '--port', 'http']),
      'VALIDATION_FAILED',
    );
    expect(port).toBe('error: --port: "http" is not a whole number (VALIDATION_FAILED)');
    const replicas = expectErrorLine(
      await s.cli(['apps', 'create', 'ok-app', '--replicas', '-3']),
      'VALIDATION_FAILED',
    );
    expect(replicas).toMatch(/^error: replicas: /);
    const env = expectErrorLine(
      await s.cli(['apps', 'create', 'ok-app', '--env', 'NOVALUE']),
      'VALIDATION_FAILED',
    );
    expect(env).toBe('error: --env value 1 is not in the form NAME=VALUE (VALIDATION_FAILED)');
    // Nothing was created by any of these.
    expect((await s.cli(['apps', 'ls', '--json'])).stdout.trim()).toBe('[]');
  });

  it('reports a missing app by name and code', async () => {
    const line = expectErrorLine(await s.cli(['apps', 'info', 'nope']), 'APP_NOT_FOUND');
    expect(line).toBe('error: app nope not found (APP_NOT_FOUND)');
  });

  it('exits 2 with commander’s message on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['launch-rockets'], /^error: unknown command 'launch-rockets'/],
      [['apps', 'ls', '--bogus'], /^error: unknown option '--bogus'/],
      [['apps', 'create'], /^error: missing required argument 'name'/],
      [['login', '--url', 'http://127.0.0.1:1'], /^error: required option '--email <email>' not specified/],
      [['up', '--signup', 'sometimes'], /^error: option '--signup <mode>' argument 'sometimes' is invalid/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('prints help and version with exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: shellwego/);
    const upHelp = await runCli(['up', '--help']);
    expect(upHelp.stdout).toMatch(/node agent \(as root\) and the edge proxy/);
    expect(upHelp.stdout).toMatch(/--no-agent/);
    const serverHelp = await runCli(['server', '--help']);
    expect(serverHelp.stdout).toMatch(/Run only the control plane/);
    expect(serverHelp.stdout).toMatch(/DATABASE_URL/);
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('gives one clear line when the server cannot be reached', async () => {
    const port = await freePort();
    const r = await runCli(['apps', 'ls'], {
      env: { SHELLWEGO_URL: `http://127.0.0.1:${port}`, SHELLWEGO_TOKEN: 'swg_whatever' },
    });
    const line = expectErrorLine(r, 'UNREACHABLE');
    expect(line).toMatch(
      new RegExp(`^error: cannot reach http://127\\.0\\.0\\.1:${port}: connection refused`),
    );
    const login = await runCli(['login', '--url', `http://127.0.0.1:${port}`, '--email', 'a@b.c'], {
      input: 'pw',
    });
    expectErrorLine(login, 'UNREACHABLE');
  });

  it('says how to log in when there is no session', async () => {
    const line = expectErrorLine(await runCli(['apps', 'ls']), 'NOT_LOGGED_IN');
    expect(line).toContain('shellwego login');
  });

  it('refuses a URL that is not http(s)', async () => {
    const line = expectErrorLine(
      await runCli(['login', '--url', 'ftp://example.com', '--email', 'a@b.c', '--password', 'x']),
      'VALIDATION_FAILED',
    );
    expect(line).toMatch(/^error: url: "ftp:\/\/example\.com" is not an http:\/\/ or https:\/\/ URL/);
  });
});
