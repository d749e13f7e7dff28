// The control plane's figures (issue 2, "Figures to report"): idle RSS side by side with an empty
// Node process and a bare Fastify hello-world; RSS and `GET /v1/apps` latency with 10,000 apps in the
// store; requests per second of `GET /v1/apps/{app}` with 64 connections.
//
// Usage: npm run build && npm run bench   (see bench/README.md for what each figure means)
// Every process under test is a fresh child (node --expose-gc) that reports its own RSS after a
// forced GC over IPC; the load comes from this process, so the two never share an event loop.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cleanup, children, intEnv, makeTempDir, requireBuilt } from './lib/lifecycle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const resultsFile = join(here, 'results', 'control-plane.json');

/** Knobs, for quicker runs while working on the bench itself; the defaults are the reported figures. */
const settings = {
  apps: intEnv('BENCH_APPS', 10_000),
  createConnections: intEnv('BENCH_CREATE_CONNECTIONS', 8),
  listRequests: intEnv('BENCH_LIST_REQUESTS', 2_000),
  bigListRequests: intEnv('BENCH_BIG_LIST_REQUESTS', 200),
  connections: intEnv('BENCH_CONNECTIONS', 64),
  durationSeconds: intEnv('BENCH_DURATION', 10),
  settleMs: 2_000,
};
const GOAL_RATIO = 1.6;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Children and temporary directories, cleaned up on every way out (normal end, error, Ctrl-C).

/** Starts `node --expose-gc bench/<script> …args` and resolves with its ready line. */
function startChild(label, script, args = []) {
  const child = spawn(process.execPath, ['--expose-gc', join(here, script), ...args], {
    cwd: root,
    // As the shellwego binary's shebang sets it (packages/cli/src/main.ts), for every child alike.
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not ready after 60 s`)), 60_000);
    const onExit = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${signal ?? code}) before it was ready`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg = null;
      try {
        msg = JSON.parse(line);
      } catch {
        // not ours: a log line
      }
      if (msg?.bench === 'ready') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(msg);
      } else {
        process.stderr.write(`[${label}] ${line}\n`);
      }
    });
  });
  return { label, child, ready };
}

/** The child's own memory after a forced GC (see lib/probe.mjs). */
function probe({ label, child }) {
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (msg?.type !== 'rss') return;
      done();
      resolve(msg);
    };
    const onExit = () => {
      done();
      reject(new Error(`${label} exited while being measured`));
    };
    const done = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: 'rss' });
  });
}

/** Asks the child to close cleanly; kills it after 5 s. */
async function stopChild({ child }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ type: 'close' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// HTTP: node:http with keep-alive (cheap enough per request that the client barely shows in the
// latencies); autocannon for the 64-connection throughput run.

function httpClient(baseUrl, { connections = 1, token } = {}) {
  const { hostname, port } = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (payload !== undefined) headers['content-type'] = 'application/json';
      const req = http.request({ hostname, port, method, path, agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode, text: raw.toString('utf8'), bytes: raw.length });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  return { request, close: () => agent.destroy() };
}

async function expectStatus(promise, status, what) {
  const res = await promise;
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summarize(samplesMs) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (x) => Math.round(x * 100) / 100;
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 0.5)),
    p90Ms: round(percentile(sorted, 0.9)),
    p99Ms: round(percentile(sorted, 0.99)),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    maxMs: round(sorted.at(-1)),
  };
}

/** `n` sequential requests (one connection) after a short warm-up; latency measured around each. */
async function sequentialLatency(api, path, n) {
  for (let i = 0; i < Math.min(50, Math.ceil(n / 10)); i++)
    await expectStatus(api.request('GET', path), 200, path);
  const samples = [];
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await expectStatus(api.request('GET', path), 200, path);
    samples.push(performance.now() - t0);
    bytes = res.bytes;
  }
  const seconds = (performance.now() - started) / 1000;
  return { path, ...summarize(samples), requestsPerSecond: Math.round(n / seconds), responseBytes: bytes };
}

const appName = (i) => `bench-${String(i).padStart(5, '0')}`;

/** Creates apps bench-00000… through the API with `connections` requests in flight. */
async function createApps(api, n, connections) {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const progress = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    process.stderr.write(`  … ${done}/${n} apps created (${Math.round(done / s)}/s)\n`);
  }, 5_000);
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await expectStatus(
        api.request('POST', '/v1/apps', {
          name: appName(i),
          image: 'ghcr.io/example/web:1.4.2',
          env: { NODE_ENV: 'production', LOG_LEVEL: 'info' },
          resources: { memory: '256m', cpu: '0.5' },
        }),
        201,
        `POST /v1/apps (${appName(i)})`,
      );
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    clearInterval(progress);
  }
  const seconds = (performance.now() - started) / 1000;
  return { apps: n, connections, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(n / seconds) };
}

/** Pages through GET /v1/apps?limit=1000 and counts what the store holds. */
async function countApps(api) {
  let count = 0;
  let cursor = null;
  do {
    const path = `/v1/apps?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = JSON.parse((await expectStatus(api.request('GET', path), 200, path)).text);
    count += page.items.length;
    cursor = page.next_cursor;
  } while (cursor);
  return count;
}

function dirBytes(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    if (st.isFile()) total += st.size;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (
    !requireBuilt(
      root,
      ['packages/core/dist/index.js', 'packages/control-plane/dist/index.js'],
      'npm run bench',
    )
  )
    return 2;
  // The control plane runs bundled exactly as the shipped binary is (scripts/bundle.mjs).
  const { build } = await import('esbuild');
  const { bundleOptions } = await import('../scripts/bundle.mjs');
  mkdirSync(join(here, 'results'), { recursive: true });
  await build({
    ...bundleOptions,
    entryPoints: [join(here, 'serve-control-plane.mjs')],
    outfile: join(here, 'results', 'serve-control-plane.bundle.mjs'),
    sourcemap: false,
  });
  let autocannon;
  try {
    ({ default: autocannon } = await import('autocannon'));
  } catch {
    console.error('bench: autocannon is not installed; run `npm install` at the repository root.');
    return 2;
  }

  const startedAt = new Date();
  const t0 = performance.now();
  const results = {
    startedAt: startedAt.toISOString(),
    machine: {
      node: process.version,
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      totalMemMiB: Math.round(os.totalmem() / MiB),
      loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    settings: { ...settings },
  };
  const log = (msg) =>
    console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}`);

  // 1. Idle RSS, side by side, each in a fresh process: startup, one request, 2 s settle, GC, RSS.
  const idle = {};
  const measureIdle = async (key, label, script, args, path) => {
    log(`idle: ${label}`);
    const c = startChild(label, script, args);
    const ready = await c.ready;
    if (path) {
      const once = httpClient(ready.url);
      await expectStatus(once.request('GET', path), 200, `${label} GET ${path}`);
      once.close();
    }
    await sleep(settings.settleMs);
    idle[key] = await probe(c);
    return { c, ready };
  };
  const empty = await measureIdle('emptyNode', 'empty Node process', 'idle-child.mjs', ['empty'], null);
  await stopChild(empty.c);
  const fastify = await measureIdle('fastify', 'bare Fastify', 'idle-child.mjs', ['fastify'], '/');
  await stopChild(fastify.c);
  const dataDir = makeTempDir();
  const fresh = await measureIdle(
    'controlPlane',
    'control plane, fresh data dir',
    'results/serve-control-plane.bundle.mjs',
    [dataDir],
    '/v1/health',
  );
  const admin = { email: fresh.ready.email, password: fresh.ready.password };
  if (!admin.email || !admin.password) throw new Error('the control plane printed no first admin');
  await stopChild(fresh.c);
  // What an operator sees from the second start on: the same store, no first-start work.
  const { c: cp, ready: cpReady } = await measureIdle(
    'controlPlaneRestarted',
    'control plane, restarted',
    'results/serve-control-plane.bundle.mjs',
    [dataDir],
    '/v1/health',
  );
  const ratio = idle.controlPlane.rss / idle.emptyNode.rss;
  results.idle = {
    ...idle,
    ratioControlPlaneToEmptyNode: Math.round(ratio * 100) / 100,
    ratioRestartedToEmptyNode: Math.round((idle.controlPlaneRestarted.rss / idle.emptyNode.rss) * 100) / 100,
    goalRatio: GOAL_RATIO,
    goalMet: ratio <= GOAL_RATIO,
  };

  const logIn = async () => {
    const anon = httpClient(cpReady.url);
    try {
      const res = await expectStatus(
        anon.request('POST', '/v1/auth/login', admin),
        200,
        'POST /v1/auth/login',
      );
      return JSON.parse(res.text).access_token;
    } finally {
      anon.close();
    }
  };
  const token = await logIn();

  // 2. 10,000 apps through the API, then RSS and list latencies.
  log(`creating ${settings.apps} apps through POST /v1/apps, ${settings.createConnections} connections`);
  const writer = httpClient(cpReady.url, { connections: settings.createConnections, token });
  const creation = await createApps(writer, settings.apps, settings.createConnections);
  writer.close();
  log(`created ${creation.apps} apps in ${creation.seconds} s (${creation.perSecond}/s)`);

  const api = httpClient(cpReady.url, { token });
  const stored = await countApps(api);
  if (stored !== settings.apps) throw new Error(`the store holds ${stored} apps, expected ${settings.apps}`);
  const rssAfterCreate = await probe(cp);

  log(`GET /v1/apps × ${settings.listRequests}, sequential`);
  const listDefault = await sequentialLatency(api, '/v1/apps', settings.listRequests);
  log(`GET /v1/apps?limit=1000 × ${settings.bigListRequests}, sequential`);
  const listBig = await sequentialLatency(api, '/v1/apps?limit=1000', settings.bigListRequests);
  const sample = appName(Math.floor(settings.apps / 2));
  const getOne = await sequentialLatency(api, `/v1/apps/${sample}`, settings.listRequests);
  api.close();
  const rssAfterLists = await probe(cp);
  results.store = {
    creation,
    appsInStore: stored,
    databaseBytes: dirBytes(dataDir),
    rssAfterCreate,
    rssAfterLists,
    listDefault,
    listLimit1000: listBig,
    getAppSequential: getOne,
  };

  // 3. GET /v1/apps/{app} with 64 connections.
  const target = `${cpReady.url}/v1/apps/${sample}`;
  const headers = { authorization: `Bearer ${token}` };
  log(`warm-up: GET /v1/apps/${sample}, ${settings.connections} connections, 2 s`);
  await autocannon({ url: target, connections: settings.connections, duration: 2, headers });
  log(`GET /v1/apps/${sample}, ${settings.connections} connections, ${settings.durationSeconds} s`);
  const ac = await autocannon({
    url: target,
    connections: settings.connections,
    duration: settings.durationSeconds,
    headers,
  });
  const rssAfterLoad = await probe(cp);
  const failures = ac.errors + ac.timeouts + ac.non2xx;
  results.getApp = {
    path: `/v1/apps/${sample}`,
    connections: settings.connections,
    durationSeconds: ac.duration,
    requests: ac.requests.total,
    requestsPerSecond: ac.requests.average,
    latency: {
      p50Ms: ac.latency.p50,
      p90Ms: ac.latency.p90,
      p99Ms: ac.latency.p99,
      meanMs: ac.latency.average,
      maxMs: ac.latency.max,
    },
    errors: ac.errors,
    timeouts: ac.timeouts,
    non2xx: ac.non2xx,
    statusCodes: ac.statusCodeStats,
    rssAfterLoad,
  };

  // 4. Logins: scrypt (N=16384, r=8: 16 MiB each) runs on the libuv pool; does its memory come back?
  log('8 logins, 4 at a time');
  for (let round = 0; round < 2; round++) await Promise.all([logIn(), logIn(), logIn(), logIn()]);
  await sleep(500);
  results.logins = { logins: 8, concurrency: 4, rssBefore: rssAfterLoad, rssAfter: await probe(cp) };

  await stopChild(cp);
  results.machine.loadAvgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  results.totalSeconds = Math.round((performance.now() - t0) / 100) / 10;

  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  printReport(results);
  console.log(`\nwritten: ${relative(process.cwd(), resultsFile)} (${results.totalSeconds} s in all)`);
  if (failures > 0) {
    console.error(`bench: GET /v1/apps/{app} had ${failures} errors/timeouts/non-2xx responses (must be 0)`);
    return 1;
  }
  return 0;
}

function printReport(r) {
  const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
  const ms = (x) => `${x.toFixed(2)} ms`;
  const lat = (s) => `p50 ${ms(s.p50Ms)}  p99 ${ms(s.p99Ms)}`;
  const rows = [
    ['1. Idle RSS (fresh process, 2 s settle, after GC)', '', ''],
    ['   empty Node process', mib(r.idle.emptyNode.rss), `heap ${mib(r.idle.emptyNode.heapUsed)}`],
    ['   bare Fastify hello-world', mib(r.idle.fastify.rss), `heap ${mib(r.idle.fastify.heapUsed)}`],
    [
      '   control plane, fresh data dir (after 1 health request)',
      mib(r.idle.controlPlane.rss),
      `heap ${mib(r.idle.controlPlane.heapUsed)}`,
    ],
    [
      '   ratio control plane / empty Node',
      `${r.idle.ratioControlPlaneToEmptyNode.toFixed(2)}x`,
      `goal ≤ ${r.idle.goalRatio}x: ${r.idle.goalMet ? 'met' : 'NOT MET'}`,
    ],
    [
      '   control plane, restarted on that data dir',
      mib(r.idle.controlPlaneRestarted.rss),
      `${r.idle.ratioRestartedToEmptyNode.toFixed(2)}x empty Node, heap ${mib(r.idle.controlPlaneRestarted.heapUsed)}`,
    ],
    [`2. With ${r.store.appsInStore} apps in the store`, '', ''],
    [
      '   creating them (POST /v1/apps)',
      `${r.store.creation.perSecond} apps/s`,
      `${r.store.creation.seconds} s, ${r.store.creation.connections} connections`,
    ],
    ['   database files', mib(r.store.databaseBytes), 'db + WAL + shm'],
    ['   control plane RSS after GC', mib(r.store.rssAfterCreate.rss), 'right after creating'],
    ['   control plane RSS after GC', mib(r.store.rssAfterLists.rss), 'after the list runs below'],
    [
      '   GET /v1/apps (100 per page)',
      lat(r.store.listDefault),
      `${r.store.listDefault.count} sequential, ${Math.round(r.store.listDefault.responseBytes / 1024)} KiB each`,
    ],
    [
      '   GET /v1/apps?limit=1000',
      lat(r.store.listLimit1000),
      `${r.store.listLimit1000.count} sequential, ${Math.round(r.store.listLimit1000.responseBytes / 1024)} KiB each`,
    ],
    [
      '   GET /v1/apps/{app}',
      lat(r.store.getAppSequential),
      `${r.store.getAppSequential.count} sequential (${r.store.getAppSequential.requestsPerSecond} req/s)`,
    ],
    [`3. GET /v1/apps/{app}, ${r.getApp.connections} connections, ${r.getApp.durationSeconds} s`, '', ''],
    ['   requests per second', `${Math.round(r.getApp.requestsPerSecond)}`, `${r.getApp.requests} requests`],
    [
      '   latency (autocannon, 1 ms resolution)',
      `p50 ${r.getApp.latency.p50Ms} ms  p99 ${r.getApp.latency.p99Ms} ms`,
      '',
    ],
    [
      '   errors / timeouts / non-2xx',
      `${r.getApp.errors} / ${r.getApp.timeouts} / ${r.getApp.non2xx}`,
      r.getApp.errors + r.getApp.timeouts + r.getApp.non2xx === 0 ? 'ok' : 'MUST BE 0',
    ],
    [
      '   control plane RSS after GC / peak',
      `${mib(r.getApp.rssAfterLoad.rss)} / ${mib(r.getApp.rssAfterLoad.maxRss)}`,
      'peak = max RSS over the whole run',
    ],
    [`4. Logins (scrypt on the libuv pool)`, '', ''],
    [
      `   RSS after GC, ${r.logins.logins} more logins, ${r.logins.concurrency} at a time`,
      mib(r.logins.rssAfter.rss),
      `was ${mib(r.logins.rssBefore.rss)} before them`,
    ],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const m = r.machine;
  console.log(`\nShellWeGo control plane bench — ${r.startedAt}`);
  console.log(`Node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.totalMemMiB} MiB RAM, ${m.platform}`);
  console.log(`load average at start ${m.loadAvgAtStart.join(' ')}, at end ${m.loadAvgAtEnd.join(' ')}`);
  console.log('');
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd());
}

main().then(
  (code) => {
    cleanup();
    process.exit(code);
  },
  (e) => {
    console.error('bench failed:', e);
    cleanup();
    process.exit(1);
  },
);
