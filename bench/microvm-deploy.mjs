// Issue 8's deploy-level figure: `shellwego up` on a temporary data dir, a microVM app (QEMU microvm; TCG here),
// and the time from the deploy call to the first 200 of the new release through the edge — the first deploy (image
// pulled, root image built) and warm redeploys (both images' root filesystems cached), alternating two images.
// Shown beside the lab recipe's raw QEMU boot from `node bench/microvm.mjs` (bench/results/microvm.json) when that
// ran before on this machine: run both in the same quiet period for a meaningful ratio.
// Needs root and a built tree: `npm run build`, then `node bench/microvm-deploy.mjs`. RUNS=4 warm deploys by default.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { edgeGetter, pct, sleep, timedDeploy } from './lib/deploy-timing.mjs';
import { intEnv, makeTempDir, requireBuilt } from './lib/lifecycle.mjs';
import { startUp } from './lib/up.mjs';

const root = join(import.meta.dirname, '..');
const builtFiles = [
  'packages/cli/dist/shellwego.mjs',
  'packages/testkit/dist/index.js',
  'packages/drivers/microvm/dist/index.js',
];
if (!requireBuilt(root, builtFiles, 'node bench/microvm-deploy.mjs')) process.exit(2);
if (process.getuid?.() !== 0) {
  console.error('bench: run as root (the agent runs QEMU in network namespaces with TAP devices)');
  process.exit(2);
}
const { freePort, pushBusyboxImage, startRegistry } = await import(join(root, builtFiles[1]));
const { installKernel } = await import(join(root, builtFiles[2]));
const RUNS = intEnv('RUNS', 4);
const kernelDir = process.env.SHELLWEGO_KERNEL_DIR ?? '/var/cache/shellwego-test/kernel';

const prefix = `swv${randomInt(36 ** 2).toString(36)}`;
const subnet = `10.215.${randomInt(256)}.0/24`;
const dir = makeTempDir('swg-bench-vmdeploy-');
const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
};
/** QEMU processes of this run: their drives live under our data dir. */
const vms = () =>
  sh('pgrep', ['-f', `^(\\S*/)?qemu-system-x86_64 .*${dir}`])
    .split('\n')
    .filter(Boolean);
process.prependListener('exit', () => {
  for (const pid of vms()) sh('kill', ['-9', pid]);
  for (const ns of sh('ip', ['netns', 'list']).split('\n'))
    if (ns.startsWith(prefix)) sh('ip', ['netns', 'del', ns.split(' ')[0]]);
  for (const l of JSON.parse(sh('ip', ['-j', 'link', 'show']) || '[]'))
    if (l.ifname.startsWith(prefix)) sh('ip', ['link', 'del', l.ifname]);
});

// The node finds its guest kernel in <data dir>/kernels, where `shellwego kernel install` puts it.
await installKernel({ dir: kernelDir });
mkdirSync(dir, { recursive: true });
symlinkSync(kernelDir, join(dir, 'kernels'));
const registry = await startRegistry();
const [apiPort, httpPort] = [await freePort(), await freePort()];
const { up, call } = await startUp(join(root, builtFiles[0]), {
  dir,
  apiPort,
  httpPort,
  httpsPort: await freePort(),
  bridge: `${prefix}br`,
  prefix,
  subnet,
});
const { get, close } = edgeGetter(httpPort);
for (;;) {
  const node = (await call('GET', '/v1/nodes')).items?.[0];
  if (node?.status === 'ready' && node.runtimes.includes('microvm')) break;
  await sleep(100);
}

const image = (page) =>
  pushBusyboxImage(registry.host, `bench/vm-${page}`, {
    cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & wait'],
    files: { 'www/index.html': `${page}\n` },
  });
const [a, b] = [await image('vm-a'), await image('vm-b')];
await call('POST', '/v1/apps', {
  name: 'vm',
  runtime: 'microvm',
  resources: { memory: '128m', cpu: '0.5' },
  health_check: { path: '/', interval: '1s', timeout: '1s' },
});
const deploy = (img, page) => timedDeploy({ call, get }, 'vm', img.reference, page);
const cold = await deploy(a, 'vm-a');
// The second image's first deploy builds its root image too: not counted as warm.
const coldB = await deploy(b, 'vm-b');
const warm = [];
for (let i = 0; i < RUNS; i++) warm.push(await deploy(i % 2 ? b : a, i % 2 ? 'vm-b' : 'vm-a'));

const rawFile = join(root, 'bench', 'results', 'microvm.json');
const raw = existsSync(rawFile) ? JSON.parse(readFileSync(rawFile, 'utf8')) : undefined;
const result = {
  accel: existsSync('/dev/kvm') ? 'kvm' : 'tcg',
  first_deploy_ms: Math.round(cold),
  first_deploy_second_image_ms: Math.round(coldB),
  warm_ms: { p50: Math.round(pct(warm, 50)), max: Math.round(Math.max(...warm)), runs: warm.length },
  raw_lab_boot_ms: raw?.rawLabBootToFirst200Ms ?? null,
  ratio_warm_to_raw: raw ? Number((pct(warm, 50) / raw.rawLabBootToFirst200Ms).toFixed(2)) : null,
  loadavg: loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
};
console.log(
  `microVM deploy to first 200 through the edge (${result.accel}): first ${result.first_deploy_ms} ms ` +
    `(pull + root image), warm p50 ${result.warm_ms.p50} ms, max ${result.warm_ms.max} ms over ${RUNS}`,
);
if (raw)
  console.log(
    `lab recipe's raw QEMU boot to first 200 (bench/microvm.mjs, earlier run): ${raw.rawLabBootToFirst200Ms} ms; ` +
      `warm deploy / raw boot = ${result.ratio_warm_to_raw}x`,
  );
else console.log('run `node bench/microvm.mjs` for the raw QEMU boot to compare with');
console.log(`load average at the end: ${result.loadavg}`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'microvm-deploy.json'), `${JSON.stringify(result, null, 2)}\n`);

await call('DELETE', '/v1/apps/vm');
for (let i = 0; i < 150 && vms().length > 0; i++) await sleep(200);
up.kill('SIGTERM');
await new Promise((r) => up.once('exit', r));
await registry.stop();
close();
process.exit(0);
