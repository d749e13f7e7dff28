import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { makeTempDir, removeDir, runCli, startTestControlPlane } from '@shellwego/testkit';
import type { CliResult, TestControlPlane } from '@shellwego/testkit';

/** A control plane in this process and a HOME for the CLI processes that talk to it. */
export interface CliSession {
  cp: TestControlPlane;
  home: string;
  configFile: string;
  /** Runs the built `shellwego` with this session's HOME. */
  cli(args: string[], opts?: { env?: Record<string, string>; input?: string }): Promise<CliResult>;
  /** `shellwego login` as the first admin, the password on stdin. */
  login(): Promise<CliResult>;
  savedConfig(): Promise<string>;
  close(): Promise<void>;
}

export async function startCliSession(injected: { now?: () => Date } = {}): Promise<CliSession> {
  const cp = await startTestControlPlane({}, injected);
  const home = await makeTempDir('swg-home-');
  const configFile = join(home, '.config', 'shellwego', 'config.json');
  const cli: CliSession['cli'] = (args, opts = {}) =>
    runCli(args, { ...opts, env: { HOME: home, ...opts.env } });
  return {
    cp,
    home,
    configFile,
    cli,
    login: () =>
      cli(['login', '--url', cp.url, '--email', cp.admin.email], { input: `${cp.admin.password}\n` }),
    savedConfig: () => readFile(configFile, 'utf8'),
    close: async () => {
      await cp.close();
      await removeDir(home);
    },
  };
}

/** Exit 0 and nothing on stderr. */
export function expectSuccess(r: CliResult): void {
  expect(r.stderr, `stdout: ${r.stdout}`).toBe('');
  expect(r.code).toBe(0);
}

/** The error contract: exit 1, exactly one stderr line ending with the code, no stack trace. */
export function expectErrorLine(r: CliResult, code: string): string {
  expect(r.code, `stderr: ${r.stderr}`).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  const line = lines[0] ?? '';
  expect(line).toMatch(/^error: /);
  expect(line).toContain(`(${code})`);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return line;
}

/** A session logged in as the first admin for a whole test file: started in beforeAll, closed in afterAll. */
export function useLoggedInSession(): CliSession {
  let current: CliSession | undefined;
  beforeAll(async () => {
    current = await startCliSession();
    expectSuccess(await current.login());
  });
  afterAll(async () => {
    await current?.close();
  });
  const get = (): CliSession => {
    if (!current) throw new Error('the CLI session starts in beforeAll');
    return current;
  };
  return {
    get cp() {
      return get().cp;
    },
    get home() {
      return get().home;
    },
    get configFile() {
      return get().configFile;
    },
    cli: (args, opts) => get().cli(args, opts),
    login: () => get().login(),
    savedConfig: () => get().savedConfig(),
    close: () => get().close(),
  };
}
