import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, runCli, type CliResult, type ShellwegoProcess } from '@shellwego/testkit';
import { registerExitCleanup, removeOwned, uniquePrefix } from '../../agent/src/network/test-net.js';
import { loginAsFirstAdmin, startLocalUp } from './test-local-up.js';
import { until } from './test-load.js';

const execFileAsync = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> => (await execFileAsync(cmd, args)).stdout;
const isRoot = process.getuid?.() === 0;

/** A WAGI module answering `text` plus the value of the env var GREETING (read with WASI environ_get). */
function greeterWat(text: string): string {
  const body = `Content-Type: text/plain\n\n${text} `;
  const escaped = body.replace(/\n/g, '\\n');
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 1024) "${escaped}")
  (data (i32.const 1000) "GREETING=")
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; 1 when the 9 bytes at $p are "GREETING=".
  (func $is_greeting (param $p i32) (result i32) (local $i i32)
    (block $no
      (loop $next
        (br_if $no (i32.ne (i32.load8_u (i32.add (local.get $p) (local.get $i)))
                           (i32.load8_u (i32.add (i32.const 1000) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 9))))
      (return (i32.const 1)))
    (i32.const 0))
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $end (loop $more
      (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $more)))
    (local.get $n))
  (func (export "_start") (local $count i32) (local $i i32) (local $p i32)
    (call $write (i32.const 1024) (i32.const ${Buffer.byteLength(body)}))
    (drop (call $sizes (i32.const 16) (i32.const 20)))
    (local.set $count (i32.load (i32.const 16)))
    ;; pointers at 4096, strings at 8192
    (drop (call $environ_get (i32.const 4096) (i32.const 8192)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $p (i32.load (i32.add (i32.const 4096) (i32.mul (local.get $i) (i32.const 4)))))
      (if (call $is_greeting (local.get $p))
        (then (call $write (i32.add (local.get $p) (i32.const 9))
                           (i32.sub (call $strlen (local.get $p)) (i32.const 9)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))))
`;
}

async function assemble(dir: string, name: string, wat: string): Promise<string> {
  const source = join(dir, `${name}.wat`);
  const out = join(dir, `${name}.wasm`);
  await writeFile(source, wat);
  await sh('wat2wasm', [source, '-o', out]);
  return out;
}

// Issue 7's end-to-end run: a .wasm file deployed with the CLI through `shellwego up`, reached through the edge.
describe.skipIf(!isRoot)('shellwego up runs WebAssembly functions (needs root)', () => {
  let dir: string;
  let home: string;
  let prefix: string;
  let up: ShellwegoProcess | undefined;
  let httpPort = 0;
  const cancels: (() => void)[] = [];
  const app = `fn-${Math.random().toString(36).slice(2, 8)}`;
  const cli = (args: string[], timeoutMs = 120_000): Promise<CliResult> =>
    runCli(args, { env: { HOME: home }, timeoutMs });
  const viaEdge = async (): Promise<string> =>
    sh('curl', [
      '-sS',
      '--max-time',
      '5',
      '--resolve',
      `${app}.localhost:${httpPort}:127.0.0.1`,
      `http://${app}.localhost:${httpPort}/`,
    ]);
  /** The wasm host processes this run's agent started (their state dir is under our data dir). */
  const hosts = async (): Promise<string[]> =>
    (await sh('pgrep', ['-f', `__wasm-host.*${dir}`]).catch(() => '')).split('\n').filter(Boolean);

  beforeAll(async () => {
    dir = await makeTempDir('swg-up-wasm-');
    home = await makeTempDir('swg-up-wasm-home-');
    prefix = await uniquePrefix();
    cancels.push(registerExitCleanup(prefix));
    ({ up, httpPort } = await startLocalUp({ dir, prefix }));
    await loginAsFirstAdmin(up, home);
  });

  afterAll(async () => {
    if (up) {
      await cli(['apps', 'delete', app, '--yes']).catch(() => undefined);
      await up.stop();
    }
    for (const pid of await hosts()) process.kill(Number(pid), 'SIGKILL');
    await removeOwned(prefix);
    await removeDir(dir);
    await removeDir(home);
    for (const cancel of cancels) cancel();
  });

  it('deploys a .wasm file, serves it through the edge with its secret, and redeploys a new version', async () => {
    const v1 = await assemble(dir, 'v1', greeterWat('hello v1'));
    const v2 = await assemble(dir, 'v2', greeterWat('hello v2'));
    const created = await cli(['apps', 'create', app, '--runtime', 'wasm', '--health-interval', '1s']);
    expect(created.code, created.stderr).toBe(0);
    const secret = await cli(['secrets', 'set', app, 'GREETING=from-env']);
    expect(secret.code, secret.stderr).toBe(0);

    const first = await cli(['deploy', app, '--memory', '64m', v1]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/uploading .*v1\.wasm/);
    expect(first.stdout).toBe(`deployed ${app} release 1: http://${app}.localhost\n`);
    expect(await viaEdge()).toBe('hello v1 from-env');
    const status = JSON.parse((await cli(['status', app, '--json'])).stdout) as { runtime: string };
    expect(status.runtime).toBe('wasm');
    expect(await hosts()).toHaveLength(1);

    const second = await cli(['deploy', app, v2]);
    expect(second.code, second.stderr).toBe(0);
    await until('v2 through the edge', async () =>
      (await viaEdge()) === 'hello v2 from-env' ? true : undefined,
    );
    // One host serves every function of the node, across deploys.
    expect(await hosts()).toHaveLength(1);

    // SIGHUP to `up` reloads its edge (a new worker): the app keeps answering, `up` keeps running.
    up?.kill('SIGHUP');
    await until('the reload to be announced', async () =>
      (await up?.stderrText())?.includes('SIGHUP: reloading the edge') ? true : undefined,
    );
    for (let i = 0; i < 10; i++) expect(await viaEdge()).toBe('hello v2 from-env');

    const bad = await cli(['deploy', app, join(dir, 'v1.wat')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is not a WebAssembly module/);
  });
});
