import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHandle, InstanceSpec, LogLine } from '@shellwego/driver-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmDriver } from './driver.js';
import { makeWasmTestEnv, stopHost, urlOf, type WasmTestEnv } from './test-harness.js';
import {
  bigMemoryWat,
  buildModule,
  counterWat,
  echoWat,
  exitWat,
  helloWat,
  loopWat,
  memoryBombWat,
  readFileWat,
  trapWat,
} from './test-modules.js';

let env: WasmTestEnv | undefined;
const testEnv = (): WasmTestEnv => {
  if (env === undefined) throw new Error('test env not ready');
  return env;
};
beforeAll(async () => {
  env = await makeWasmTestEnv();
});
afterAll(async () => {
  await env?.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function logText(driver: WasmDriver, h: InstanceHandle): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const l of driver.logs(h, { follow: false, signal: new AbortController().signal }))
    lines.push(l);
  return lines;
}

async function waitForLog(driver: WasmDriver, h: InstanceHandle, needle: string): Promise<LogLine[]> {
  for (let i = 0; i < 100; i++) {
    const lines = await logText(driver, h);
    if (lines.some((l) => l.line.includes(needle))) return lines;
    await sleep(50);
  }
  throw new Error(
    `log never contained ${needle}: ${(await logText(driver, h)).map((l) => l.line).join(' | ')}`,
  );
}

/** Every regular file under dir whose content contains needle. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const rel of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    const p = join(dir, rel);
    const s = await stat(p).catch(() => null);
    if (s?.isFile() === true && (await readFile(p)).includes(needle)) hits.push(p);
  }
  return hits;
}

describe('wasm driver', () => {
  const driver = new WasmDriver();
  const handles: InstanceHandle[] = [];
  afterAll(async () => {
    for (const h of handles) await driver.destroy(h).catch(() => undefined);
  });

  async function run(
    name: string,
    wat: string,
    o: Parameters<WasmTestEnv['spec']>[2] = {},
  ): Promise<{ spec: InstanceSpec; h: InstanceHandle }> {
    const e = testEnv();
    const m = await buildModule(e.modulesDir, name, wat);
    const spec = await e.spec(name, m, o);
    const h = await driver.start(spec);
    handles.push(h);
    return { spec, h };
  }

  it('answers hello, and the instance runs in the host process', async () => {
    const { spec, h } = await run('hello', helloWat());
    const res = await fetch(urlOf(spec));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('hello from wasm\n');
    const status = await driver.inspect(h);
    expect(status).toMatchObject({ state: 'running', pid: await testEnv().hostPid() });
  });

  it('gives the module method, path, query, headers and body, and the env and secrets', async () => {
    const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
    const { spec } = await run('echo', echoWat, {
      env: ['GREETING=hello'],
      secrets: { DB_PASSWORD: secret },
    });
    const res = await fetch(urlOf(spec, '/a/b?x=1&y=2'), {
      method: 'POST',
      headers: { 'x-test': 'yes', 'content-type': 'application/json' },
      body: '{"ping":true}',
    });
    expect(res.status).toBe(200);
    const lines = (await res.text()).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'REQUEST_METHOD=POST',
        'PATH_INFO=/a/b',
        'QUERY_STRING=x=1&y=2',
        'HTTP_X_TEST=yes',
        'CONTENT_TYPE=application/json',
        'CONTENT_LENGTH=13',
        'SERVER_NAME=127.0.0.1',
        'GREETING=hello',
        `DB_PASSWORD=${secret}`,
      ]),
    );
    expect(lines.at(-1)).toBe('{"ping":true}');
    // Nothing the driver or host writes (state dir, logs, handles on disk) holds the secret.
    expect(await filesContaining(testEnv().dir, secret)).toEqual([]);
  });

  it('runs every request in a fresh instance: no state survives from one request to the next', async () => {
    const { spec } = await run('counter', counterWat);
    for (let i = 0; i < 5; i++) expect(await (await fetch(urlOf(spec))).text()).toBe('global=1 memory=1');
  });

  it('answers 504 for a request past its time limit while another instance keeps answering', async () => {
    const { spec: loop, h } = await run('loop', loopWat, { env: ['REQUEST_TIMEOUT_MS=1500'] });
    const { spec: hello } = await run('hello2', helloWat());
    const t0 = Date.now();
    const slow = fetch(urlOf(loop)).then((r) => ({ status: r.status, ms: Date.now() - t0 }));
    await sleep(200);
    // The other app answers while the loop spins on its own worker thread.
    const quick = await fetch(urlOf(hello));
    expect(quick.status).toBe(200);
    const quickMs = Date.now() - t0;
    const { status, ms } = await slow;
    expect(status).toBe(504);
    expect(quickMs).toBeLessThan(ms);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(15_000);
    await waitForLog(driver, h, 'time limit of 1500 ms');
    // And the instance with the loop still serves (a fresh worker replaced the terminated one).
    expect((await driver.inspect(h)).state).toBe('running');
  });

  it('caps linear memory: memory.grow returns -1 at the limit and the host survives', async () => {
    const { spec, h } = await run('bomb', memoryBombWat, { memoryBytes: 1024 * 1024 });
    const res = await fetch(urlOf(spec));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('pages=16'); // 1 MiB / 64 KiB
    expect((await driver.inspect(h)).state).toBe('running');
    expect((await fetch(urlOf(spec))).status).toBe(200);
  });

  it('refuses a module whose initial memory exceeds the limit', async () => {
    const e = testEnv();
    const m = await buildModule(e.modulesDir, 'big', bigMemoryWat(100));
    const spec = await e.spec('big', m, { memoryBytes: 1024 * 1024 });
    await expect(driver.start(spec)).rejects.toThrow(/needs 100 pages .* above the limit of 16 pages/);
  });

  it('answers 500 for a trap and logs the trap', async () => {
    const { spec, h } = await run('trap', trapWat);
    const res = await fetch(urlOf(spec));
    expect(res.status).toBe(500);
    const lines = await waitForLog(driver, h, 'trap: unreachable');
    const trap = lines.find((l) => l.line.includes('trap:'));
    expect(trap?.stream).toBe('stderr');
    expect(trap?.at).toBeInstanceOf(Date);
  });

  it('answers 500 when the module exits non-zero', async () => {
    const { spec, h } = await run('exit3', exitWat);
    expect((await fetch(urlOf(spec))).status).toBe(500);
    await waitForLog(driver, h, 'exited with status 3');
  });

  it('denies /etc/passwd without volumes', async () => {
    const { spec } = await run('passwd', readFileWat(3, 'etc/passwd'));
    const body = await (await fetch(urlOf(spec))).text();
    expect(body).toMatch(/^errno=\d+$/);
    expect(body).not.toContain('root:');
  });

  it('reads a declared volume, and nothing outside it', async () => {
    const e = testEnv();
    const data = join(e.dir, 'volume');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'hello.txt'), 'from the volume\n');
    const volumes = [{ source: data, target: '/data' }];
    const { spec } = await run('volume', readFileWat(3, 'hello.txt'), { volumes });
    expect(await (await fetch(urlOf(spec))).text()).toBe('from the volume\n');
    const { spec: escape } = await run('escape', readFileWat(3, '../../../../../../etc/passwd'), { volumes });
    expect(await (await fetch(urlOf(escape))).text()).toMatch(/^errno=\d+$/);

    // The preopened directory and the file the module left open are closed after each request.
    const pid = await e.hostPid();
    const openFds = async (): Promise<number> => (await readdir(`/proc/${pid}/fd`)).length;
    const before = await openFds();
    for (let i = 0; i < 50; i++) await (await fetch(urlOf(spec))).text();
    expect(await openFds()).toBeLessThan(before + 10);
  });

  it('refuses a module whose digest does not match, naming both digests', async () => {
    const e = testEnv();
    const m = await buildModule(e.modulesDir, 'tampered', helloWat());
    const wrong = `sha256:${'0'.repeat(64)}`;
    const spec = await e.spec('tampered', m, { digest: wrong });
    await expect(driver.start(spec)).rejects.toThrow(new RegExp(`${m.digest}.*${wrong}`));
  });

  it('rejects a spec without PORT or network with INVALID_SPEC', async () => {
    const e = testEnv();
    const m = await buildModule(e.modulesDir, 'noport', helloWat());
    const spec = await e.spec('noport', m);
    await expect(driver.start({ ...spec, process: { ...spec.process, env: [] } })).rejects.toMatchObject({
      code: 'INVALID_SPEC',
      message: expect.stringContaining('PORT') as string,
    });
    const { network: _n, ...noNetwork } = spec;
    await expect(driver.start(noNetwork)).rejects.toMatchObject({ code: 'INVALID_SPEC' });
  });

  it('answers 413 for a body above the cap', async () => {
    const { spec } = await run('big-body', echoWat);
    const res = await fetch(urlOf(spec), { method: 'POST', body: Buffer.alloc(11 * 1024 * 1024) });
    expect(res.status).toBe(413);
  });

  // Last: it kills the host that the tests above share.
  it('host killed from outside → instances report exited, and a new start works', async () => {
    const { h } = await run('survivor', helloWat());
    const pid = await testEnv().hostPid();
    expect(pid).not.toBeNull();
    process.kill(pid ?? 0, 'SIGKILL');
    for (let i = 0; i < 50 && (await driver.inspect(h)).state === 'running'; i++) await sleep(50);
    expect((await driver.inspect(h)).state).toBe('exited');
    expect(await driver.recover(h)).toBe(false);
    await driver.stop(h, { graceMs: 0 }); // nothing to stop: no error
    const { spec: again } = await run('after-kill', helloWat());
    expect((await fetch(urlOf(again))).status).toBe(200);
    const newPid = await testEnv().hostPid();
    expect(newPid).not.toBe(pid);
    if (newPid !== null) await stopHost(newPid);
  });
});

describe('wasm host lifecycle', () => {
  it('exits once idle with no instance, and the next start brings up a new host', async () => {
    const e = await makeWasmTestEnv();
    try {
      const driver = new WasmDriver({ hostIdleExitMs: 300 });
      const m = await buildModule(e.modulesDir, 'idle', helloWat());
      const first = await e.spec('idle1', m);
      await driver.destroy(await driver.start(first));
      const pid = await e.hostPid();
      expect(pid).not.toBeNull();
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        await sleep(50);
        try {
          process.kill(pid ?? 0, 0);
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
      const second = await e.spec('idle2', m);
      const h = await driver.start(second);
      expect((await fetch(urlOf(second))).status).toBe(200);
      expect((await driver.inspect(h)).pid).not.toBe(pid);
      await driver.destroy(h);
    } finally {
      await e.cleanup();
    }
  });
});
