// Issue 7's figures through the platform: WebAssembly functions deployed with `shellwego up` and requested
// through its edge, beside the same requests sent straight to the instance's address (the runtime alone).
// Per module: deploy → first 200 through the edge, then the first request after the deploy finished; then
// warm requests on keep-alive connections, through the edge and direct. Needs root and `npm run build`.
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { intEnv, makeTempDir, requireBuilt } from './lib/lifecycle.mjs';
import { startUp } from './lib/up.mjs';

const root = join(import.meta.dirname, '..');
if (
  !requireBuilt(
    root,
    ['packages/cli/dist/shellwego.mjs', 'packages/testkit/dist/index.js'],
    'node bench/wasm-edge.mjs',
  )
)
  process.exit(2);
if (process.getuid?.() !== 0) {
  console.error('bench: run as root (the agent adds the functions’ addresses to its bridge)');
  process.exit(2);
}
const { freePort } = await import(join(root, 'packages/testkit/dist/index.js'));
const MODULES = intEnv('BENCH_MODULES', 5);
const WARM = intEnv('BENCH_WARM', 2000);

const prefix = `swb${randomInt(36 ** 2).toString(36)}`;
const dir = makeTempDir('swg-bench-wasm-edge-');
const cli = join(root, 'packages/cli/dist/shellwego.mjs');
const [apiPort, httpPort] = [await freePort(), await freePort()];
process.prependListener('exit', () => {
  // The wasm host is detached (it outlives the agent by design): end this run's.
  try {
    execFileSync('pkill', ['-f', `__wasm-host.*${dir}`]);
  } catch {
    // none left
  }
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }));
  for (const l of links) if (l.ifname.startsWith(prefix)) execFileSync('ip', ['link', 'del', l.ifname]);
});

/** A WAGI hello: headers, a blank line, `hello N`. Written with wat2wasm (Debian's wabt). */
function module(n) {
  const body = `Content-Type: text/plain\\n\\nhello ${n}\\n`;
  const len = Buffer.byteLength(body.replace(/\\n/g, '\n'));
  const wat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "${body}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const ${len}))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
  writeFileSync(join(dir, `m${n}.wat`), wat);
  execFileSync('wat2wasm', [join(dir, `m${n}.wat`), '-o', join(dir, `m${n}.wasm`)]);
  return readFileSync(join(dir, `m${n}.wasm`));
}

const { up, call } = await startUp(cli, {
  dir,
  apiPort,
  httpPort,
  httpsPort: await freePort(),
  prefix,
  subnet: `10.215.${randomInt(256)}.0/24`,
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Polls `fn` until it returns a value; after `ms`, fails naming what it waited for and what `state()` says. */
async function until(what, fn, state, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`bench: timed out waiting for ${what}: ${JSON.stringify(await state())}`);
    await sleep(5);
  }
}
const nodes = () => call('GET', '/v1/nodes');
await until(
  'a node with the wasm runtime',
  async () => ((await nodes()).items?.[0]?.runtimes?.includes('wasm') ? true : undefined),
  nodes,
);

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
function get(port, host, address = '127.0.0.1') {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request({ host: address, port, path: '/', headers: { host }, agent: keepAlive }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, ms: performance.now() - t0 }));
    });
    req.on('error', (e) => resolve({ status: 0, body: e.message, ms: performance.now() - t0 }));
    req.end();
  });
}
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const f = (ms) => `${ms.toFixed(2)} ms`;

const deployToFirst = [];
const firstAfter = [];
let last;
for (let n = 0; n < MODULES; n++) {
  const app = `fn-${n}`;
  await call('POST', '/v1/apps', { name: app, runtime: 'wasm', health_check: { interval: '1s' } });
  const content = module(n);
  const t0 = performance.now();
  const { digest } = await call('POST', `/v1/apps/${app}/artifacts`, {
    content_base64: content.toString('base64'),
  });
  const dep = await call('POST', `/v1/apps/${app}/deployments`, {
    image: digest,
    resources: { memory: '16m', cpu: '10m' },
  });
  const deployment = () => call('GET', `/v1/deployments/${dep.id}`);
  await until(
    `hello ${n} through the edge`,
    async () => {
      const r = await get(httpPort, `${app}.localhost`);
      return r.status === 200 && r.body === `hello ${n}\n` ? true : undefined;
    },
    deployment,
  );
  deployToFirst.push(performance.now() - t0);
  await until(
    'the deployment to succeed',
    async () => ((await deployment()).status === 'succeeded' ? true : undefined),
    deployment,
  );
  firstAfter.push((await get(httpPort, `${app}.localhost`)).ms);
  last = app;
}
const [instance] = (await call('GET', `/v1/apps/${last}`)).instances;
const [ip, port] = instance.address.split(':');
const viaEdge = [];
const direct = [];
for (let i = 0; i < WARM; i++) {
  viaEdge.push((await get(httpPort, `${last}.localhost`)).ms);
  direct.push((await get(Number(port), `${last}.localhost`, ip)).ms);
}
console.log(
  `wasm through shellwego up (${MODULES} modules, ${WARM} warm requests each way, one keep-alive connection)`,
);
console.log(
  `  deploy → first 200 via the edge        p50 ${f(pct(deployToFirst, 50))}  max ${f(Math.max(...deployToFirst))}`,
);
console.log(
  `  first request after the deploy (edge)   p50 ${f(pct(firstAfter, 50))}  max ${f(Math.max(...firstAfter))}`,
);
console.log(
  `  warm via the edge                       p50 ${f(pct(viaEdge, 50))}  p99 ${f(pct(viaEdge, 99))}`,
);
console.log(`  warm direct to the instance             p50 ${f(pct(direct, 50))}  p99 ${f(pct(direct, 99))}`);
console.log(`  the edge's share of a warm request      p50 ${f(pct(viaEdge, 50) - pct(direct, 50))}`);
for (let n = 0; n < MODULES; n++) await call('DELETE', `/v1/apps/fn-${n}`);
await sleep(1500);
keepAlive.destroy();
up.kill('SIGTERM');
await new Promise((r) => up.once('exit', r));
process.exit(0);
