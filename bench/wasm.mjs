// Issue 7's figures for the wasm runtime, measured directly at the runtime (no edge): cold start (start() of a module
// never compiled before, then its first request: compile included), warm request latency, memory per idle deployed
// function (host RSS delta / N), and how many distinct functions one host holds. Run `npx tsc -b` first.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { children, intEnv, makeTempDir, requireBuilt } from './lib/lifecycle.mjs';

const root = join(import.meta.dirname, '..');
const built = 'packages/drivers/wasm/dist/index.js';
if (!requireBuilt(root, [built, 'packages/drivers/wasm/dist/entry.js'], 'node bench/wasm.mjs'))
  process.exit(2);
const { WasmDriver } = await import(join(root, built));

const COLD = intEnv('BENCH_COLD', 100);
const WARM = intEnv('BENCH_WARM', 2000);
const IDLE = intEnv('BENCH_IDLE', 1000);
const TOTAL = intEnv('BENCH_FUNCTIONS', 3000);
const MEMORY = 16 * 1024 * 1024;

const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

// One module, assembled once; each deployed function is a copy with a different 8-digit id in its data segment,
// so every function has its own digest (and is compiled on its own) at the same size.
const dir = makeTempDir('swg-bench-wasm-');
const stateDir = join(dir, 'state');
const logDir = join(dir, 'logs');
const MARK = 'FUNC00000000';
writeFileSync(
  join(dir, 'hello.wat'),
  `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "Content-Type: text/plain\\n\\nhello ${MARK}\\n")
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 256)) (i32.store (i32.const 20) (i32.const ${26 + 7 + MARK.length}))
    (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))`,
);
execFileSync('wat2wasm', [join(dir, 'hello.wat'), '-o', join(dir, 'hello.wasm')]);
const template = readFileSync(join(dir, 'hello.wasm'));
const markAt = template.indexOf(MARK);
function moduleFor(i) {
  const bytes = Buffer.from(template);
  bytes.write(`FUNC${String(i).padStart(8, '0')}`, markAt, 'latin1');
  const path = join(dir, `f${i}.wasm`);
  writeFileSync(path, bytes);
  return { path, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function spec(i, port, artifact) {
  return {
    instanceId: `bench-${i}`,
    appId: `app_${i}`,
    rootfs: dir,
    process: { args: ['module.wasm'], env: [`PORT=${port}`], cwd: '/', user: { uid: 0, gid: 0 } },
    hostname: `f${i}`,
    resources: { memoryBytes: MEMORY, cpuMilli: 100, pidsLimit: 1 },
    secrets: {},
    network: { ip: '127.0.0.1', prefix: 24, gateway: '127.0.0.1', mac: '02:00:00:00:00:01' },
    artifact,
    volumes: [],
    logDir,
    stateDir,
  };
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(port, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
  });
}

const hostPid = () => Number(readFileSync(join(stateDir, 'wasm-host.pid'), 'utf8'));
const rssOf = (pid) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const sleep = (t) => new Promise((r) => setTimeout(r, t));

const driver = new WasmDriver({ hostIdleExitMs: 0 });
let next = 0;
async function deploy() {
  const i = next++;
  const port = await freePort();
  const t0 = performance.now();
  await driver.start(spec(i, port, moduleFor(i)));
  return { i, port, startMs: performance.now() - t0 };
}

let pid;
try {
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(
    `wasm runtime bench: node ${process.versions.node}, ${os.cpus().length} cores, load average ${load()}`,
  );
  const first = await deploy(); // starts the host
  pid = hostPid();
  await get(first.port);

  // 1. Cold start: start() of a never-seen module (read, sha256, memory rewrite, compile, listen), then the first request.
  const starts = [];
  const firsts = [];
  const totals = [];
  for (let k = 0; k < COLD; k++) {
    const d = await deploy();
    const t0 = performance.now();
    await get(d.port);
    const firstMs = performance.now() - t0;
    starts.push(d.startMs);
    firsts.push(firstMs);
    totals.push(d.startMs + firstMs);
  }
  console.log(
    `\ncold start over ${COLD} distinct modules (${template.length}-byte module, new TCP connection):`,
  );
  console.log(`  start() incl. compile    p50 ${ms(pct(starts, 50))}  p99 ${ms(pct(starts, 99))}`);
  console.log(`  first request             p50 ${ms(pct(firsts, 50))}  p99 ${ms(pct(firsts, 99))}`);
  console.log(`  start() + first request   p50 ${ms(pct(totals, 50))}  p99 ${ms(pct(totals, 99))}`);

  // 2. Warm: sequential requests on one keep-alive connection to one instance (a fresh module instance each).
  for (let k = 0; k < 50; k++) await get(first.port, keepAlive);
  const warm = [];
  for (let k = 0; k < WARM; k++) {
    const t0 = performance.now();
    await get(first.port, keepAlive);
    warm.push(performance.now() - t0);
  }
  console.log(
    `\nwarm request (${WARM} sequential, keep-alive):  p50 ${ms(pct(warm, 50))}  p99 ${ms(pct(warm, 99))}`,
  );

  // Baseline: the same client against a bare node:http hello server in its own process, to show what is wasm's.
  const basePort = await freePort();
  const base = spawn(
    process.execPath,
    [
      '-e',
      `require('http').createServer((q, s) => s.end('hello')).listen(${basePort}, '127.0.0.1', () => console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  children.add(base);
  await new Promise((r) => base.stdout.once('data', r));
  const baseAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let k = 0; k < 50; k++) await get(basePort, baseAgent);
  const baseline = [];
  for (let k = 0; k < WARM; k++) {
    const t0 = performance.now();
    await get(basePort, baseAgent);
    baseline.push(performance.now() - t0);
  }
  baseAgent.destroy();
  base.kill('SIGKILL');
  console.log(
    `  baseline, bare node:http hello in a child process:  p50 ${ms(pct(baseline, 50))}  p99 ${ms(pct(baseline, 99))}`,
  );

  // 3. Memory per idle deployed function: host RSS before and after IDLE more instances, each serving once.
  await sleep(1000);
  const rss0 = rssOf(pid);
  const deployed = [];
  for (let k = 0; k < IDLE; k++) deployed.push(await deploy());
  for (const d of deployed) await get(d.port);
  await sleep(2000);
  const rss1 = rssOf(pid);
  console.log(`\nidle functions: host RSS ${mib(rss0)} with ${next - IDLE} → ${mib(rss1)} with ${next}`);
  console.log(
    `  per idle deployed function (RSS delta / ${IDLE}, each served one request): ${((rss1 - rss0) / IDLE / 1024).toFixed(0)} KiB`,
  );

  // 4. How many distinct functions one host holds: deploy up to TOTAL, then check a sample still answers.
  const tStart = performance.now();
  let failed = null;
  while (next < TOTAL) {
    try {
      deployed.push(await deploy());
    } catch (e) {
      failed = e.message;
      break;
    }
  }
  const deploySeconds = (performance.now() - tStart) / 1000;
  await sleep(2000);
  const rss2 = rssOf(pid);
  const step = Math.max(1, Math.floor(deployed.length / 200));
  const sample = deployed.filter((_, k) => k % step === 0);
  let ok = 0;
  for (const d of sample) if ((await get(d.port).catch(() => '')).startsWith('hello')) ok++;
  console.log(`\ndistinct functions in one host: ${next}${failed === null ? '' : ` (stopped: ${failed})`}`);
  console.log(
    `  host RSS ${mib(rss2)} (${(rss2 / next / 1024).toFixed(0)} KiB per function incl. the host's base)`,
  );
  console.log(
    `  ${sample.length} sampled functions answered: ${ok}/${sample.length}; deploying the last ${next - IDLE - COLD - 1} took ${deploySeconds.toFixed(1)} s`,
  );
  console.log(`\nload average at the end: ${load()}`);
} finally {
  keepAlive.destroy();
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
