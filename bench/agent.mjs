// Issue 4's figures for the node agent: instance start to first healthy check (image already unpacked) against plain
// `runc run -d` of the same tree; one reconcile plan() with 1,000 desired instances; the agent's RSS with 200 running
// instances; and (opt-in, slow) how many idle busybox-httpd instances the machine holds before a start fails.
// Needs root (runc, mounts, namespaces, a bridge). Run `npm run build` first.
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { intEnv, requireBuilt } from './lib/lifecycle.mjs';
import { startUp } from './lib/up.mjs';

const root = join(import.meta.dirname, '..');
const built = {
  agent: 'packages/agent/dist/index.js',
  runc: 'packages/drivers/runc/dist/index.js',
  registry: 'packages/registry/dist/index.js',
  testkit: 'packages/testkit/dist/index.js',
  cli: 'packages/cli/dist/shellwego.mjs',
};
if (!requireBuilt(root, Object.values(built), 'node bench/agent.mjs')) process.exit(2);
if (process.getuid?.() !== 0) {
  console.error('bench: run as root (the agent starts runc containers, namespaces and a bridge)');
  process.exit(2);
}
const { DriverSet, Executor, NetworkManager, Resolver, httpProbe, plan } = await import(
  join(root, built.agent)
);
const { RuncDriver } = await import(join(root, built.runc));
const { ImageStore } = await import(join(root, built.registry));
const { freePort, pushBusyboxImage, startRegistry } = await import(join(root, built.testkit));

const STARTS = intEnv('BENCH_STARTS', 50);
const PLAN_RUNS = intEnv('BENCH_PLAN_RUNS', 20);
const RSS_INSTANCES = intEnv('BENCH_RSS_INSTANCES', 200);
// 0 (the default) skips figure 4: running to exhaustion takes long.
const MAX_INSTANCES = process.env.BENCH_MAX_INSTANCES === '0' ? 0 : intEnv('BENCH_MAX_INSTANCES', 0);
const PER_APP = 100; // the API's maximum replicas per app
// Which figures to run: `start`, `plan`, `up` (3 and 4), comma-separated; all by default. A partial run updates only
// its own figures in bench/results/agent.json.
const FIGURES = new Set((process.env.BENCH_FIGURES ?? 'start,plan,up').split(',').map((f) => f.trim()));
for (const f of FIGURES)
  if (!['start', 'plan', 'up'].includes(f)) {
    console.error(`bench: BENCH_FIGURES takes start, plan and up (got ${f})`);
    process.exit(2);
  }
const PARTIAL = FIGURES.size < 3;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Names, subnets and cleanup. Everything this bench makes on the host starts with `prefix` or lives under `dirs`.
const prefix = `swa${randomInt(36 ** 2)
  .toString(36)
  .padStart(2, '0')}`;
const dirs = [];
const runcRoots = [];
const makeDir = (name) => {
  const dir = mkdtempSync(join(os.tmpdir(), `swg-bench-agent-${name}-`));
  dirs.push(dir);
  return dir;
};

/** Route destinations of the host (every table) as [first, last] address ranges. */
function hostRoutes() {
  const toInt = (ip) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const routes = JSON.parse(sh('ip', ['-4', '-j', 'route', 'show', 'table', 'all']) || '[]');
  return routes
    .map((r) => r.dst)
    .filter((d) => d && d !== 'default' && /^[\d.]+(\/\d+)?$/.test(d))
    .map((d) => {
      const [ip, len = '32'] = d.split('/');
      const size = 2 ** (32 - Number(len));
      const first = Math.floor(toInt(ip) / size) * size;
      return [first, first + size - 1];
    });
}
/** A free, aligned 10.215.x.0/len that no host route overlaps and no earlier pick uses. */
const picked = [];
function freeSubnet(len) {
  const routes = [...hostRoutes(), ...picked];
  const blocks = 2 ** (24 - len); // /24s per subnet
  for (let tries = 0; tries < 200; tries++) {
    const third = randomInt(256 / blocks) * blocks;
    const first = ((10 * 256 + 215) * 256 + third) * 256;
    const range = [first, first + 2 ** (32 - len) - 1];
    if (routes.some(([a, b]) => a <= range[1] && range[0] <= b)) continue;
    picked.push(range);
    return `10.215.${third}.0/${len}`;
  }
  throw new Error(`no free /${len} in 10.215.0.0/16`);
}

let upDataDir = null;
function cleanupHost() {
  // The `up` children (agent, edge) outlive a SIGKILLed `up` for a moment: end them by pid.
  if (upDataDir !== null) for (const pid of pidsWith(upDataDir)) sh('kill', ['-KILL', String(pid)]);
  for (const runcRoot of runcRoots)
    for (const id of sh('runc', ['--root', runcRoot, 'list', '-q']).split('\n').filter(Boolean))
      sh('runc', ['--root', runcRoot, 'delete', '--force', id]);
  for (const line of sh('findmnt', ['-rn', '-o', 'TARGET']).split('\n').reverse())
    if (dirs.some((d) => line.startsWith(d))) sh('umount', ['-l', line]);
  for (const ns of sh('ip', ['netns', 'list']).split('\n'))
    if (ns.startsWith(prefix)) sh('ip', ['netns', 'del', ns.split(' ')[0]]);
  for (const l of JSON.parse(sh('ip', ['-j', 'link', 'show']) || '[]'))
    if (l.ifname.startsWith(prefix)) sh('ip', ['link', 'del', l.ifname]);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
// lib/lifecycle's signal handlers kill the children and exit; 'exit' then brings us here.
process.on('exit', cleanupHost);

/** Pids of processes whose command line mentions `needle` (other than this one). */
function pidsWith(needle, also = '') {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (cmd.includes(needle) && cmd.includes(also)) out.push(Number(name));
  }
  return out;
}

const registry = await startRegistry();
const image = await pushBusyboxImage(registry.host, 'bench/idle', {
  // Busybox httpd as PID 1 ignores SIGTERM; the trap makes stops quick.
  cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & wait'],
  files: { 'www/index.html': 'hello from busybox\n' },
});
const result = {};
const resultsFile = join(root, 'bench/results/agent.json');
const earlier = PARTIAL && existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {};
/** Written after every figure, so an interrupted run (figure 4 is long) keeps what it measured. */
const save = () => {
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify({ ...earlier, ...result }, null, 2)}\n`);
};

// ---------------------------------------------------------------------------------------------------------------
// 1. Instance start to first healthy check, the agent's executor against plain `runc run -d`.
//
// Ours: Executor.apply([create]) with the agent's Resolver (image already pulled and unpacked), NetworkManager
// (lease, namespace, veth on the bridge) and RuncDriver (overlay + tmpfs bundle, config.json, shim, wait until
// running), then the agent's own HTTP probe (`httpProbe`, a fresh connection per check) from the host to the
// instance's address every 3 ms until it answers 2xx. Stop and destroy are not timed.
//
// Plain runc: the same unpacked tree copied once into a bundle from `runc spec` (args, env and cwd of the image,
// terminal off, rootfs writable, no resource limits), joined to a network namespace made once up front (through the
// NetworkManager, so it sits on the same bridge) and reused by every run. Timed: `runc run -d` until it returns, then
// the same probe from the host until 2xx. So the baseline pays neither network set-up nor an overlay mount; ours
// pays both, which is the agent's job. The two alternate, run by run, so drift on the machine hits both alike.
if (FIGURES.has('start')) {
  const dir = makeDir('start');
  const stateDir = join(dir, 'agent');
  const runtimeDir = join(stateDir, 'runtime');
  runcRoots.push(join(runtimeDir, 'runc'), join(dir, 'plain-runc'));
  mkdirSync(stateDir, { recursive: true });
  const resolver = new Resolver({
    images: await ImageStore.open(join(stateDir, 'images')),
    logDir: join(stateDir, 'logs'),
    runtimeDir,
  });
  const network = await NetworkManager.open({
    stateDir,
    bridgeName: `${prefix}br`,
    cidr: freeSubnet(24),
    namePrefix: prefix,
  });
  // The same driver and network, with the time of each start's two big steps recorded for the breakdown.
  const phases = { network: [], driver: [], apply: [] };
  const timed = async (list, fn) => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      list.push(performance.now() - t0);
    }
  };
  class TimedRuncDriver extends RuncDriver {
    start(spec) {
      return timed(phases.driver, () => super.start(spec));
    }
  }
  const timedNetwork = {
    setup: (id, opts) => timed(phases.network, () => network.setup(id, opts)),
    teardown: (id) => network.teardown(id),
    lookup: (id) => network.lookup(id),
  };
  const executor = new Executor({
    drivers: new DriverSet({ container: new TimedRuncDriver() }),
    network: timedNetwork,
    resolver,
    stateDir,
    graceMs: 2000,
  });
  const port = 8080;
  const wire = {
    app_id: 'app_bench',
    app_name: 'bench',
    release_id: 'rel_bench',
    release_version: 1,
    image: image.reference,
    runtime: 'container',
    env: {},
    secrets: {},
    secret_versions: {},
    resources: { memory_bytes: 128 * 1024 * 1024, cpu_milli: 1000 },
    port,
    health_check: { path: '/', interval_ms: 1000, timeout_ms: 1000 },
  };
  // Pulls and unpacks the image once; every timed start finds it on the node.
  const resolved = await resolver.resolve(`${prefix}-warmup`, wire);
  const probe = httpProbe(port, '/');
  const untilHealthy = async (ip) => {
    const deadline = performance.now() + 10_000;
    for (;;) {
      const r = await probe.run(ip, 1000);
      if (r.ok) return;
      if (performance.now() > deadline) throw new Error(`${ip}:${port} not healthy within 10 s: ${r.detail}`);
      await sleep(3);
    }
  };

  const bundle = join(dir, 'plain-bundle');
  mkdirSync(bundle);
  execFileSync('runc', ['spec', '--bundle', bundle]);
  execFileSync('cp', ['-a', resolved.rootfs, join(bundle, 'rootfs')]);
  const plainNet = await network.setup(`${prefix}-plain`);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process = {
    ...config.process,
    terminal: false,
    args: resolved.process.args,
    env: resolved.process.env,
    cwd: resolved.process.cwd,
  };
  config.root = { path: 'rootfs', readonly: false };
  config.hostname = 'bench';
  config.linux.namespaces = config.linux.namespaces.map((ns) =>
    ns.type === 'network' ? { type: 'network', path: plainNet.nsPath } : ns,
  );
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const plainRoot = join(dir, 'plain-runc');
  const plainLog = openSync(join(dir, 'plain-runc.log'), 'a');
  const runc = (args) =>
    new Promise((resolve, reject) => {
      // stdio to a file, never a pipe: a detached container keeps these fds open.
      const child = spawn('runc', ['--root', plainRoot, ...args], { stdio: ['ignore', plainLog, plainLog] });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`runc ${args.join(' ')} exited with ${code}`)),
      );
    });

  const ours = [];
  const plain = [];
  const timeOurs = async (i) => {
    const id = `${prefix}-i${i}`;
    const t0 = performance.now();
    const [r] = await timed(phases.apply, () =>
      executor.apply([{ kind: 'create', instanceId: id, spec: wire }]),
    );
    if (r.outcome !== 'done') throw new Error(`start of ${id}: ${r.outcome} ${r.error?.message ?? ''}`);
    await untilHealthy((await executor.networkOf(id)).ip);
    ours.push(performance.now() - t0);
    const [s] = await executor.apply([{ kind: 'stop', instanceId: id }]);
    if (s.outcome !== 'done') throw new Error(`stop of ${id}: ${s.outcome} ${s.error?.message ?? ''}`);
  };
  const timePlain = async (i) => {
    const id = `${prefix}-p${i}`;
    const t0 = performance.now();
    await runc(['run', '-d', '--bundle', bundle, id]);
    await untilHealthy(plainNet.ip);
    plain.push(performance.now() - t0);
    await runc(['delete', '--force', id]);
  };
  // One untimed round each: first-use costs (page cache, module loading) are not what we measure.
  await timeOurs('warm');
  ours.length = 0;
  for (const list of Object.values(phases)) list.length = 0;
  await timePlain('warm');
  plain.length = 0;
  for (let i = 0; i < STARTS; i++) {
    if (i % 2 === 0) {
      await timeOurs(i);
      await timePlain(i);
    } else {
      await timePlain(i);
      await timeOurs(i);
    }
  }
  closeSync(plainLog);
  await network.teardown(`${prefix}-plain`);
  result.start_to_healthy_ms = {
    starts: STARTS,
    agent: { p50: pct(ours, 50), p90: pct(ours, 90) },
    plain_runc: { p50: pct(plain, 50), p90: pct(plain, 90) },
    ratio_p50: pct(ours, 50) / pct(plain, 50),
  };
  const healthy = ours.map((t, i) => t - phases.apply[i]);
  result.start_to_healthy_ms.agent_breakdown_p50 = {
    network_setup: pct(phases.network, 50),
    driver_start: pct(phases.driver, 50),
    executor_apply: pct(phases.apply, 50),
    apply_to_healthy: pct(healthy, 50),
  };
  const s = result.start_to_healthy_ms;
  console.log(
    `start to healthy (${STARTS} starts): agent p50 ${ms(s.agent.p50)} p90 ${ms(s.agent.p90)}; ` +
      `plain runc p50 ${ms(s.plain_runc.p50)} p90 ${ms(s.plain_runc.p90)}; ratio p50 ${s.ratio_p50.toFixed(2)}x (goal < 2x)`,
  );
  save();
  const b = s.agent_breakdown_p50;
  console.log(
    `agent start, p50 of each step: network set-up ${ms(b.network_setup)}, driver start ${ms(b.driver_start)} ` +
      `(executor apply in all ${ms(b.executor_apply)}), then ${ms(b.apply_to_healthy)} to the first healthy check`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 2. One reconcile pass: plan(desired, actual) with 1,000 desired instances, no driver calls. Actual holds 500 equal
// (running), 150 with a changed spec (→ replace), 100 exited with code 1 (→ restart), and 250 extra (→ stop); 250
// desired are missing (→ create). Actual specs are separate objects without secret values, as read from disk.
if (FIGURES.has('plan')) {
  const spec = (i, version = 1) => ({
    app_id: `app_${i % 50}`,
    app_name: `app-${i % 50}`,
    release_id: `rel_${i % 50}_${version}`,
    release_version: version,
    image: `registry.example.com/team/app-${i % 50}@sha256:${(i % 50).toString(16).padStart(64, '0')}`,
    runtime: 'container',
    env: { NODE_ENV: 'production', LOG_LEVEL: 'info', DATABASE_URL: `postgres://db/app${i % 50}` },
    secrets: { API_KEY: `secret-${i}` },
    secret_versions: { API_KEY: 3 },
    resources: { memory_bytes: 268435456, cpu_milli: 500 },
    port: 8080,
    health_check: { path: '/healthz', interval_ms: 10000, timeout_ms: 2000 },
  });
  const id = (i) => `inst_${i.toString(36).padStart(8, '0')}`;
  const desired = [];
  const actual = [];
  for (let i = 0; i < 1000; i++) desired.push({ instanceId: id(i), spec: spec(i), restartPolicy: 'always' });
  const stored = (s) => {
    const copy = JSON.parse(JSON.stringify(s));
    copy.secrets = {};
    return copy;
  };
  for (let i = 0; i < 500; i++) actual.push({ instanceId: id(i), spec: stored(spec(i)), state: 'running' });
  for (let i = 500; i < 650; i++)
    actual.push({ instanceId: id(i), spec: stored(spec(i, 0)), state: 'running' });
  for (let i = 650; i < 750; i++)
    actual.push({ instanceId: id(i), spec: stored(spec(i)), state: 'exited', exitCode: 1 });
  for (let i = 1000; i < 1250; i++)
    actual.push({ instanceId: id(i), spec: stored(spec(i)), state: 'running' });
  const counts = {};
  for (const a of plan(desired, actual)) counts[a.kind] = (counts[a.kind] ?? 0) + 1;
  const expected = { stop: 250, replace: 150, restart: 100, create: 250 };
  if (JSON.stringify(counts) !== JSON.stringify(expected))
    throw new Error(`plan() gave ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`);
  const times = [];
  for (let i = 0; i < PLAN_RUNS + 3; i++) {
    const t0 = performance.now();
    plan(desired, actual);
    if (i >= 3) times.push(performance.now() - t0); // 3 warm-up runs: the JIT, not the plan
  }
  result.plan_1000_ms = { median: pct(times, 50), min: Math.min(...times), runs: PLAN_RUNS, actions: counts };
  console.log(
    `reconcile plan(), 1,000 desired / 1,000 actual (${Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(
        ', ',
      )}): median ${ms(result.plan_1000_ms.median)}, min ${ms(result.plan_1000_ms.min)} over ${PLAN_RUNS}`,
  );
  save();
}

// ---------------------------------------------------------------------------------------------------------------
// 3 and 4. The real agent under `shellwego up`: its RSS with 200 running instances, then (opt-in) more instances in
// steps of 100 until one fails to start or the cap is reached.
if (FIGURES.has('up')) {
  const target = Math.max(RSS_INSTANCES, MAX_INSTANCES);
  // A /24 holds 253 instances; figure 4 needs a wider subnet.
  const len = Math.min(24, 32 - Math.ceil(Math.log2(target + 16)));
  const dir = makeDir('up');
  upDataDir = dir;
  runcRoots.push(join(dir, 'agent', 'runtime', 'runc'));
  const cli = join(root, built.cli);
  const apiPort = await freePort();
  const { up, call } = await startUp(cli, {
    dir,
    apiPort,
    httpPort: await freePort(),
    httpsPort: await freePort(),
    bridge: `${prefix}bu`,
    prefix,
    subnet: freeSubnet(len),
    // Shared CPU (see addApp): 2 cores offered 50 times over admit 1,000 instances of 100m.
    extraArgs: ['--cpu-overcommit', '50'],
  });
  while ((await call('GET', '/v1/nodes')).items?.[0]?.status !== 'ready') await sleep(100);

  const apps = [];
  /** Running instances over every app, and the first failure any instance reports. */
  const census = async () => {
    let running = 0;
    let failure = null;
    for (const app of apps) {
      for (const inst of (await call('GET', `/v1/apps/${app}`)).instances ?? []) {
        if (inst.state === 'running') running++;
        else if (inst.state === 'failed' && failure === null)
          failure = `${app} instance ${inst.id}: ${inst.message ?? 'failed'}`;
      }
    }
    return { running, failure };
  };
  /** Waits until `count` instances run, a start fails, or nothing moved for `stallMs`. */
  const waitFor = async (count, stallMs) => {
    let last = -1;
    let since = performance.now();
    for (;;) {
      const c = await census();
      if (c.running >= count || c.failure !== null) return c;
      if (c.running !== last) [last, since] = [c.running, performance.now()];
      else if (performance.now() - since > stallMs)
        return {
          ...c,
          failure: `stuck at ${c.running} running for ${stallMs / 1000} s; ${JSON.stringify(
            (await call('GET', `/v1/apps/${apps.at(-1)}`)).instances?.find((i) => i.state !== 'running') ??
              null,
          )}`,
        };
      await sleep(1000);
    }
  };
  // One app per 100 instances: created with 1 replica (a deployment), then scaled up (no deployment).
  // 16 MiB and 100 milli-CPU each, on a node that sells its CPU 50 times over (a shared-CPU host), so the
  // scheduler admits 1,000 on 2 cores while each instance may still burst to a tenth of a core. (Without overcommit
  // they would get 2m each, a CFS quota of 1% of a core: the last run of that stalled at 400 instances.)
  const addApp = async (replicas) => {
    const name = `idle-${apps.length}`;
    await call('POST', '/v1/apps', {
      name,
      image: image.reference,
      replicas: 1,
      resources: { memory: '16m', cpu: '100m' },
      health_check: { path: '/', interval: '10s', timeout: '2s' },
    });
    apps.push(name);
    if (replicas > 1) await call('PATCH', `/v1/apps/${name}`, { replicas });
  };
  const agentRss = () => {
    const [pid] = pidsWith('agent --join', dir);
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]) * 1024;
  };

  let total = 0;
  let failure = null;
  while (total < RSS_INSTANCES && failure === null) {
    const n = Math.min(PER_APP, RSS_INSTANCES - total);
    await addApp(n);
    total += n;
    ({ failure } = await waitFor(total, 120_000));
  }
  if (failure !== null) throw new Error(`could not start ${RSS_INSTANCES} instances: ${failure}`);
  await sleep(15_000); // a few health-check rounds and status reports with everything running
  const rss = agentRss();
  result.agent_rss = { instances: RSS_INSTANCES, rss_bytes: rss };
  console.log(`agent RSS with ${RSS_INSTANCES} running instances: ${mib(rss)}`);
  save();

  if (MAX_INSTANCES === 0) {
    console.log('max idle instances: skipped (set BENCH_MAX_INSTANCES)');
  } else {
    let reached = RSS_INSTANCES;
    while (reached < MAX_INSTANCES && failure === null) {
      const n = Math.min(PER_APP, MAX_INSTANCES - total);
      await addApp(n);
      total += n;
      const c = await waitFor(total, 180_000);
      ({ failure } = c);
      reached = c.running;
    }
    const available =
      Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) * 1024;
    result.max_instances = {
      cap: MAX_INSTANCES,
      running: reached,
      first_failure: failure,
      mem_available_bytes: available,
      mem_free_bytes: os.freemem(),
      agent_rss_bytes: agentRss(),
    };
    console.log(
      `max idle instances: ${reached} running (cap ${MAX_INSTANCES}; ${failure ?? 'no failure'}); ` +
        `MemAvailable ${mib(available)}, agent RSS ${mib(result.max_instances.agent_rss_bytes)}`,
    );
  }

  save();

  // Deleting the apps: the agent stops every container (the bench waits up to 5 min), timed as a figure of its own.
  const runcRoot = join(dir, 'agent', 'runtime', 'runc');
  const containers = () => sh('runc', ['--root', runcRoot, 'list', '-q']).split('\n').filter(Boolean).length;
  const before = containers();
  const t0 = performance.now();
  for (const app of apps) await call('DELETE', `/v1/apps/${app}`);
  let left = before;
  for (let i = 0; i < 600 && (left = containers()) > 0; i++) await sleep(500);
  const seconds = (performance.now() - t0) / 1000;
  result.delete_all = { instances: before, stopped: before - left, seconds };
  console.log(
    `deleting the apps: ${before - left} of ${before} instances stopped in ${seconds.toFixed(1)} s ` +
      `(${((before - left) / seconds).toFixed(1)} a second)`,
  );
  save();
  up.kill('SIGTERM');
  await new Promise((r) => up.once('exit', r));
}

await registry.stop();
process.exit(0);
