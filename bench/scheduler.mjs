// The scheduler's figure: how long one `place` call takes to plan 10,000 new instances on 1,000
// nodes, in two shapes (2,000 apps × 5 replicas, and 10,000 apps × 1), on top of instances
// already running. Pure CPU: no processes, no files.
//
// Usage: npx tsc -b packages/scheduler && node bench/scheduler.mjs
// The cluster and requests come from a seeded generator, so every run plans the same input.
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { intEnv, requireBuilt } from './lib/lifecycle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const built = 'packages/scheduler/dist/index.js';

/** Knobs, for quicker or bigger runs; the defaults are the reported figures. */
const settings = {
  nodes: intEnv('BENCH_NODES', 1000),
  instances: intEnv('BENCH_INSTANCES', 10_000),
  existing: intEnv('BENCH_EXISTING', 5000),
  runs: intEnv('BENCH_RUNS', 5),
  warmups: intEnv('BENCH_WARMUPS', 2),
  seed: 20261129,
};
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const IMAGES = Array.from({ length: 50 }, (_, i) => `sha256:${i.toString(16).padStart(64, '0')}`);

/** mulberry32: a small seeded PRNG, so the bench input is the same on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(random, list) {
  return list[Math.floor(random() * list.length)];
}

function makeNodes(random) {
  return Array.from({ length: settings.nodes }, (_, i) => {
    const images = IMAGES.filter(() => random() < 0.1);
    return {
      id: `node-${String(i).padStart(5, '0')}`,
      name: `worker-${i}`,
      zone: ZONES[i % ZONES.length],
      // A few nodes are out of rotation, as in a real fleet.
      status: random() < 0.03 ? pick(random, ['draining', 'unreachable']) : 'ready',
      runtimes: random() < 0.2 ? ['container', 'wasm'] : ['container'],
      capacity: {
        memoryBytes: pick(random, [8, 16, 32, 64]) * GiB,
        cpuMilli: pick(random, [4, 8, 16, 32]) * 1000,
        diskBytes: pick(random, [100, 200, 500]) * GiB,
      },
      images,
    };
  });
}

function makeShape(random) {
  return {
    runtime: random() < 0.1 ? 'wasm' : 'container',
    memoryBytes: pick(random, [128, 256, 512, 1024, 2048]) * MiB,
    cpuMilli: pick(random, [100, 250, 500, 1000, 2000]),
    diskBytes: pick(random, [1, 2, 5]) * GiB,
    imageDigest: pick(random, IMAGES),
  };
}

function makeExisting(random, nodes) {
  const ready = nodes.filter((n) => n.status === 'ready');
  return Array.from({ length: settings.existing }, (_, i) => {
    const node = pick(random, ready);
    return {
      id: `inst-old-${i}`,
      appId: `app-old-${i % 1500}`,
      nodeId: node.id,
      memoryBytes: pick(random, [128, 256, 512]) * MiB,
      cpuMilli: pick(random, [100, 250]),
      diskBytes: GiB,
    };
  });
}

function makeRequests(random, replicas) {
  const apps = Math.ceil(settings.instances / replicas);
  return Array.from({ length: apps }, (_, i) => ({
    appId: `app-${replicas}x-${i}`,
    appName: `app-${i}`,
    count: Math.min(replicas, settings.instances - i * replicas),
    ...makeShape(random),
  }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  if (!requireBuilt(root, [built], 'node bench/scheduler.mjs')) process.exit(1);
  const { place } = await import(pathToFileURL(join(root, built)).href);
  const random = rng(settings.seed);
  const nodes = makeNodes(random);
  const snapshot = { nodes, instances: makeExisting(random, nodes) };

  for (const replicas of [5, 1]) {
    const requests = makeRequests(random, replicas);
    let result;
    for (let i = 0; i < settings.warmups; i++) result = place(snapshot, requests);
    const times = [];
    for (let i = 0; i < settings.runs; i++) {
      const start = performance.now();
      result = place(snapshot, requests);
      times.push(performance.now() - start);
    }
    const wanted = requests.reduce((sum, r) => sum + r.count, 0);
    console.log(
      `scheduler: placed ${result.placements.length} of ${wanted} instances ` +
        `(${requests.length} requests × ${replicas}) on ${nodes.length} nodes ` +
        `with ${snapshot.instances.length} running: best ${Math.min(...times).toFixed(0)} ms, ` +
        `median ${median(times).toFixed(0)} ms; ${result.failures.length} failures`,
    );
    if (result.failures.length > 0) console.log(`  first failure: ${result.failures[0].reason}`);
  }
}

await main();
