// The registry's figures (issue 3, "Figures to report"): pull-and-unpack time of a generated
// 100 MB, 5-layer image from a local registry, side by side in one run with `skopeo copy` into an
// OCI layout followed by `umoci unpack`; and the bytes a re-pull downloads for layers it shares.
//
// Usage: npm run build && npm run bench:registry   (see bench/README.md for what each figure means)
// The image is generated here (deterministic: same layer digests every run), pushed with the
// registry package's pushImage to Debian's docker-registry (testkit's startRegistry, no auth), and
// pulled cold (fresh directories, same registry) by both contenders, alternating which goes first.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { cleanup, children, intEnv, makeTempDir, removeTempDir, requireBuilt } from './lib/lifecycle.mjs';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const resultsFile = join(here, 'results', 'registry.json');

/** Knobs, for quicker runs while working on the bench itself; the defaults are the reported figures. */
const settings = {
  layers: 5,
  layerMiB: intEnv('BENCH_LAYER_MIB', 20),
  runs: intEnv('BENCH_RUNS', 3),
  seed: 20261129,
};
const MiB = 1024 * 1024;
const REPO = 'bench/img';
const COMMAND_TIMEOUT_MS = 10 * 60_000;

// ---------------------------------------------------------------------------------------------
// Children, temporary directories and the registry, cleaned up on every way out (normal end,
// error, Ctrl-C). The registry is testkit's: its own exit hook stops it on process exit too.

let registry = null;

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (c) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')}: exited ${signal ?? code}\n${stderr.trimEnd()}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The image. Each layer: a gzip tar of a few big files (seeded-PRNG bytes interleaved with text, so
// gzip gets roughly 0.7) and a few hundred small text files, in a directory of its own. Everything
// is deterministic (PRNG seed, sorted entries, portable headers, mtime 0, fixed modes), so the
// digests are the same on every run and the registry sees the same image.

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    // mulberry32
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'layer image registry manifest digest blob config rootfs tar gzip pull push store unpack ' +
  'container runtime overlay mount process signal network socket port volume secret token ' +
  'deploy build release rollback health probe metric log trace span queue worker scheduler'
).split(' ');

function randomBytes(rand, n) {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const v = (rand() * 4294967296) >>> 0;
    out[i] = v & 0xff;
    if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = v >>> 24;
  }
  return out;
}

function text(rand, n) {
  const parts = [];
  let length = 0;
  while (length < n) {
    const line = `${Array.from({ length: 6 + Math.floor(rand() * 10) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ')} ${Math.floor(rand() * 100000)}\n`;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

/** A file of `size` bytes: 4 KiB chunks, ~60% random bytes and ~40% text. */
function mixedContent(rand, size) {
  const chunks = [];
  for (let done = 0; done < size; done += 4096) {
    const n = Math.min(4096, size - done);
    chunks.push(rand() < 0.6 ? randomBytes(rand, n) : text(rand, n));
  }
  return Buffer.concat(chunks);
}

function sha256(bytes) {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** One layer from `seed`, ~`targetMiB` compressed. */
async function buildLayer(name, seed, targetMiB) {
  const { create } = await import('tar');
  const rand = prng(seed);
  const dir = makeTempDir('swg-bench-layer-');
  try {
    const entries = [];
    const addDir = (path) => {
      mkdirSync(join(dir, path));
      entries.push(path);
    };
    const addFile = (path, bytes) => {
      writeFileSync(join(dir, path), bytes);
      chmodSync(join(dir, path), 0o644);
      entries.push(path);
    };
    // The uncompressed size that gzips to ~targetMiB (measured: ~0.74 for this mix, small files included).
    const bigTotal = Math.round((targetMiB * MiB) / 0.74);
    const top = `opt/${name}`;
    addDir('opt');
    addDir(top);
    addDir(`${top}/bin`);
    addDir(`${top}/share`);
    const smallFiles = 300;
    for (let i = 0; i < smallFiles; i++) {
      if (i % 50 === 0) addDir(`${top}/share/d${String(i / 50).padStart(2, '0')}`);
      const size = 512 + Math.floor(rand() * 8192);
      addFile(
        `${top}/share/d${String(Math.floor(i / 50)).padStart(2, '0')}/f${String(i).padStart(4, '0')}.txt`,
        text(rand, size),
      );
    }
    const bigFiles = 16;
    for (let i = 0; i < bigFiles; i++) {
      addFile(
        `${top}/bin/blob${String(i).padStart(2, '0')}.bin`,
        mixedContent(rand, Math.floor(bigTotal / bigFiles)),
      );
    }
    for (const path of entries) {
      const full = join(dir, path);
      if (statSync(full).isDirectory()) chmodSync(full, 0o755);
      utimesSync(full, 0, 0);
    }
    entries.sort();
    const chunks = [];
    const stream = create(
      { cwd: dir, gzip: { level: 6 }, portable: true, mtime: new Date(0), noDirRecurse: true },
      entries,
    );
    for await (const chunk of stream) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    return {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: sha256(bytes),
      size: bytes.byteLength,
      bytes,
      diffId: sha256(gunzipSync(bytes)),
    };
  } finally {
    removeTempDir(dir);
  }
}

function buildImage(layers) {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob = { digest: sha256(configBytes), bytes: configBytes };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configBlob.digest,
        size: configBytes.byteLength,
      },
      layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    }),
  );
  return {
    layers,
    configBlob,
    manifestDigest: sha256(manifestBytes),
    push: {
      blobs: [configBlob, ...layers.map((l) => ({ digest: l.digest, bytes: l.bytes }))],
      manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: manifestBytes },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Unpacked trees: counted so the two sides are shown to produce the same thing.

function treeSummary(dir) {
  const summary = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const hash = createHash('sha256');
  const walk = (rel) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(dir, path));
      if (st.isDirectory()) {
        summary.dirs++;
        hash.update(`d ${path} ${(st.mode & 0o7777).toString(8)}\n`);
        walk(path);
      } else if (st.isSymbolicLink()) {
        summary.symlinks++;
        hash.update(`l ${path}\n`);
      } else {
        summary.files++;
        summary.bytes += st.size;
        hash.update(`f ${path} ${st.size} ${(st.mode & 0o7777).toString(8)}\n`);
      }
    }
  };
  walk('');
  // Paths, sizes and modes of everything in the tree, so "equivalent" means more than the counts.
  summary.listingHash = hash.digest('hex').slice(0, 16);
  return summary;
}

function sameTree(a, b) {
  return (
    a.files === b.files &&
    a.dirs === b.dirs &&
    a.symlinks === b.symlinks &&
    a.bytes === b.bytes &&
    a.listingHash === b.listingHash
  );
}

// ---------------------------------------------------------------------------------------------

const withoutTree = (r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'tree'));
const round = (x, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  if (
    !requireBuilt(
      root,
      ['packages/registry/dist/index.js', 'packages/testkit/dist/index.js'],
      'npm run bench:registry',
    )
  )
    return 2;
  const tools = ['/usr/bin/skopeo', '/usr/bin/umoci'].filter((p) => !existsSync(p));
  if (tools.length > 0) {
    console.error(`bench: ${tools.join(' and ')} missing: apt-get install -y skopeo umoci`);
    return 2;
  }
  const { ContentStore, RegistryClient, pull, pushImage, unpackImage } =
    await import('../packages/registry/dist/index.js');
  const { startRegistry } = await import('../packages/testkit/dist/index.js');
  const rootless = process.getuid?.() !== 0;

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
      loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
    },
    settings: { ...settings, rootless },
  };
  const log = (msg) =>
    console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}`);

  // The image (layers 0–4) and its sibling (layers 0–3 plus a new one).
  log(`generating ${settings.layers} layers of ~${settings.layerMiB} MiB`);
  const layers = [];
  for (let i = 0; i < settings.layers; i++) {
    layers.push(await buildLayer(`layer${i}`, settings.seed + i, settings.layerMiB));
  }
  const newLayer = await buildLayer(`layer${settings.layers}-new`, settings.seed + 1000, settings.layerMiB);
  const image = buildImage(layers);
  const sibling = buildImage([...layers.slice(0, -1), newLayer]);
  const compressed = layers.reduce((n, l) => n + l.size, 0);
  const uncompressed = layers.reduce((n, l) => n + gunzipSync(l.bytes).byteLength, 0);
  results.image = {
    layers: layers.map((l) => ({ digest: l.digest, size: l.size })),
    compressedBytes: compressed,
    uncompressedBytes: uncompressed,
    manifestDigest: image.manifestDigest,
  };
  log(
    `image: ${(compressed / MiB).toFixed(1)} MiB compressed, ${(uncompressed / MiB).toFixed(1)} MiB uncompressed`,
  );

  registry = await startRegistry({ auth: 'none' });
  const client = new RegistryClient({});
  const ref1 = `${registry.host}/${REPO}:1`;
  const ref2 = `${registry.host}/${REPO}:2`;
  log(`pushing ${ref1}`);
  await pushImage(client, ref1, image.push);
  // Push done: the layers' bytes are not needed any more.
  for (const l of [...layers, newLayer]) l.bytes = null;

  // Each run is cold: fresh store / OCI layout / bundle; only the registry (and the page cache) stay.
  const ours = async () => {
    const dir = makeTempDir();
    try {
      const started = performance.now();
      const store = await ContentStore.open(join(dir, 'store'));
      const pulled = await pull(ref1, { store, client: new RegistryClient({}) });
      const pulledAt = performance.now();
      const unpacked = await unpackImage({
        layers: pulled.layers,
        diffIds: pulled.config.rootfs.diff_ids,
        storeRoot: store.root,
        imageDigest: pulled.manifestDigest,
      });
      const ended = performance.now();
      return {
        totalMs: ended - started,
        pullMs: pulledAt - started,
        unpackMs: ended - pulledAt,
        downloadedBytes: pulled.downloadedBytes,
        tree: treeSummary(unpacked.path),
      };
    } finally {
      removeTempDir(dir);
    }
  };
  const theirs = async () => {
    const dir = makeTempDir();
    try {
      const layout = join(dir, 'oci');
      const bundle = join(dir, 'bundle');
      const started = performance.now();
      await run('skopeo', [
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${ref1}`,
        `oci:${layout}:img`,
      ]);
      const copiedAt = performance.now();
      await run('umoci', ['unpack', ...(rootless ? ['--rootless'] : []), '--image', `${layout}:img`, bundle]);
      const ended = performance.now();
      return {
        totalMs: ended - started,
        pullMs: copiedAt - started,
        unpackMs: ended - copiedAt,
        tree: treeSummary(join(bundle, 'rootfs')),
      };
    } finally {
      removeTempDir(dir);
    }
  };

  const runs = { ours: [], skopeoUmoci: [] };
  for (let i = 0; i < settings.runs; i++) {
    const order = i % 2 === 0 ? ['ours', 'skopeoUmoci'] : ['skopeoUmoci', 'ours'];
    for (const who of order) {
      const r = who === 'ours' ? await ours() : await theirs();
      runs[who].push(r);
      log(
        `run ${i + 1}/${settings.runs} ${who === 'ours' ? 'ours        ' : 'skopeo+umoci'}: ` +
          `${(r.totalMs / 1000).toFixed(2)} s (pull ${(r.pullMs / 1000).toFixed(2)} s, unpack ${(r.unpackMs / 1000).toFixed(2)} s)`,
      );
    }
  }
  const stats = (list) => {
    const pick = (key) => ({
      medianMs: round(median(list.map((r) => r[key]))),
      minMs: round(Math.min(...list.map((r) => r[key]))),
      maxMs: round(Math.max(...list.map((r) => r[key]))),
    });
    return { total: pick('totalMs'), pull: pick('pullMs'), unpack: pick('unpackMs') };
  };
  const trees = [...runs.ours, ...runs.skopeoUmoci].map((r) => r.tree);
  const treesEquivalent = trees.every((t) => sameTree(t, trees[0]));
  const oursStats = stats(runs.ours);
  const theirStats = stats(runs.skopeoUmoci);
  const ratio = oursStats.total.medianMs / theirStats.total.medianMs;
  results.pullAndUnpack = {
    runs: settings.runs,
    ours: { ...oursStats, downloadedBytes: runs.ours.map((r) => r.downloadedBytes) },
    skopeoUmoci: theirStats,
    ratioOursToSkopeoUmoci: round(ratio, 2),
    goalMet: ratio < 1,
    tree: trees[0],
    treesEquivalent,
    samples: {
      ours: runs.ours.map(withoutTree),
      skopeoUmoci: runs.skopeoUmoci.map(withoutTree),
    },
  };

  // Re-pull of shared layers: :1 into a store, then :2 (4 of 5 layers shared) into the SAME store.
  log(
    `pushing ${ref2} (shares ${settings.layers - 1} of ${settings.layers} layers) and re-pulling into one store`,
  );
  await pushImage(client, ref2, sibling.push);
  const dir = makeTempDir();
  const store = await ContentStore.open(join(dir, 'store'));
  const first = await pull(ref1, { store, client });
  const shared = layers.slice(0, -1);
  const identity = (d) => {
    const st = statSync(store.blobPath(d));
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  };
  const before = shared.map((l) => identity(l.digest));
  const statuses = new Map();
  const started = performance.now();
  const second = await pull(ref2, {
    store,
    client,
    onProgress: (p) => statuses.set(p.digest, p.status),
  });
  const secondPullMs = performance.now() - started;
  const unpackStarted = performance.now();
  await unpackImage({
    layers: second.layers,
    diffIds: second.config.rootfs.diff_ids,
    storeRoot: store.root,
    imageDigest: second.manifestDigest,
  });
  const secondUnpackMs = performance.now() - unpackStarted;
  const after = shared.map((l) => identity(l.digest));
  const sharedSkipped = shared.every((l) => statuses.get(l.digest) === 'skipped');
  const sharedUntouched = before.every((x, i) => x === after[i]);
  const configDownloaded =
    second.configDigest !== first.configDigest ? sibling.configBlob.bytes.byteLength : 0;
  const sharedDownloadedBytes = second.downloadedBytes - newLayer.size - configDownloaded;
  removeTempDir(dir);
  results.repull = {
    firstDownloadedBytes: first.downloadedBytes,
    secondDownloadedBytes: second.downloadedBytes,
    newLayerBytes: newLayer.size,
    configBytes: configDownloaded,
    sharedLayerBytes: shared.reduce((n, l) => n + l.size, 0),
    sharedDownloadedBytes,
    secondSkippedBytes: second.skippedBytes,
    sharedLayersReportedSkipped: sharedSkipped,
    sharedBlobFilesUntouched: sharedUntouched,
    secondPullMs: round(secondPullMs),
    secondUnpackMs: round(secondUnpackMs),
    goalMet: sharedDownloadedBytes === 0 && sharedSkipped && sharedUntouched,
  };

  await registry.stop();
  registry = null;
  results.machine.loadAvgAtEnd = os.loadavg().map((x) => round(x, 2));
  results.totalSeconds = round((performance.now() - t0) / 1000, 1);

  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  printReport(results);
  console.log(`\nwritten: ${relative(process.cwd(), resultsFile)} (${results.totalSeconds} s in all)`);
  if (!treesEquivalent) {
    console.error('bench: the unpacked trees differ between runs or tools; the comparison is not fair');
    return 1;
  }
  return 0;
}

function printReport(r) {
  const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const p = r.pullAndUnpack;
  const q = r.repull;
  const row = (label, st) => [
    label,
    `median ${s(st.total.medianMs)}  min ${s(st.total.minMs)}`,
    `pull/copy ${s(st.pull.medianMs)} + unpack ${s(st.unpack.medianMs)} (medians)`,
  ];
  const rows = [
    [
      `1. Pull + unpack, ${r.image.layers.length} layers, ${mib(r.image.compressedBytes)} (${mib(r.image.uncompressedBytes)} unpacked), cold, ${p.runs} runs each`,
      '',
      '',
    ],
    row('   ours: pull() + unpackImage()', p.ours),
    row('   skopeo copy + umoci unpack', p.skopeoUmoci),
    [
      '   ratio ours / skopeo+umoci (medians)',
      `${p.ratioOursToSkopeoUmoci.toFixed(2)}x`,
      `goal < 1x: ${p.goalMet ? 'met' : 'NOT MET'}`,
    ],
    [
      '   unpacked trees',
      `${p.tree.files} files, ${p.tree.dirs} dirs, ${mib(p.tree.bytes)}`,
      p.treesEquivalent ? 'equivalent in every run (paths, sizes, modes)' : 'DIFFERENT',
    ],
    [`2. Re-pull: :2 shares ${r.image.layers.length - 1} layers with :1, pulled into the same store`, '', ''],
    [
      '   downloaded by the re-pull',
      mib(q.secondDownloadedBytes),
      `new layer ${mib(q.newLayerBytes)} + config ${q.configBytes} B (first pull: ${mib(q.firstDownloadedBytes)})`,
    ],
    [
      '   downloaded for the shared layers',
      `${q.sharedDownloadedBytes} B`,
      `of ${mib(q.sharedLayerBytes)}; goal 0: ${q.goalMet ? 'met' : 'NOT MET'} (reported skipped: ${q.sharedLayersReportedSkipped}, blob files untouched: ${q.sharedBlobFilesUntouched})`,
    ],
    ['   re-pull / unpack time', `${s(q.secondPullMs)} / ${s(q.secondUnpackMs)}`, ''],
  ];
  const w0 = Math.max(...rows.slice(1).map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const m = r.machine;
  console.log(`\nShellWeGo registry bench — ${r.startedAt}`);
  console.log(`Node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.totalMemMiB} MiB RAM, ${m.platform}`);
  console.log(`load average at start ${m.loadAvgAtStart.join(' ')}, at end ${m.loadAvgAtEnd.join(' ')}`);
  console.log('');
  for (const [a, b, c] of rows) {
    if (b === '' && c === '') console.log(a);
    else console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd());
  }
}

main().then(
  async (code) => {
    await registry?.stop();
    cleanup();
    process.exit(code);
  },
  async (e) => {
    console.error('bench failed:', e);
    await registry?.stop().catch(() => undefined);
    cleanup();
    process.exit(1);
  },
);
