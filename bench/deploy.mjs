// Issue 6's figures: time from a deploy to the first 200 of the new release through the edge, cold (image pulled
// from a registry) and warm (image already on the node), and failed requests during 20 deploys under load.
// Needs root (the agent runs runc containers). Run `npm run build` first.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { edgeGetter, pct, sleep, timedDeploy } from './lib/deploy-timing.mjs';
import { intEnv, makeTempDir, requireBuilt } from './lib/lifecycle.mjs';
import { startUp } from './lib/up.mjs';

const root = join(import.meta.dirname, '..');
if (
  !requireBuilt(
    root,
    ['packages/cli/dist/shellwego.mjs', 'packages/testkit/dist/index.js'],
    'node bench/deploy.mjs',
  )
)
  process.exit(2);
if (process.getuid?.() !== 0) {
  console.error('bench: run as root (the agent starts runc containers and a bridge)');
  process.exit(2);
}
const { freePort, pushBusyboxImage, startRegistry } = await import(
  join(root, 'packages/testkit/dist/index.js')
);
const DEPLOYS = intEnv('BENCH_DEPLOYS', 20);
const COLD = intEnv('BENCH_COLD', 3);
const WARM = intEnv('BENCH_WARM', 5);

const prefix = `swb${randomInt(36 ** 2).toString(36)}`;
const subnet = `10.214.${randomInt(256)}.0/24`;
const dir = makeTempDir('swg-bench-deploy-');
const cli = join(root, 'packages/cli/dist/shellwego.mjs');
const [apiPort, httpPort] = [await freePort(), await freePort()];
const registry = await startRegistry();

function cleanupHost() {
  // Containers, mounts, namespaces and links this bench made, whatever happened.
  const runcRoot = join(dir, 'agent', 'runtime', 'runc');
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  };
  for (const id of sh('runc', ['--root', runcRoot, 'list', '-q']).split('\n').filter(Boolean))
    sh('runc', ['--root', runcRoot, 'delete', '--force', id]);
  for (const line of sh('findmnt', ['-rn', '-o', 'TARGET']).split('\n').reverse())
    if (line.startsWith(dir)) sh('umount', ['-l', line]);
  for (const ns of sh('ip', ['netns', 'list']).split('\n'))
    if (ns.startsWith(prefix)) sh('ip', ['netns', 'del', ns.split(' ')[0]]);
  for (const l of JSON.parse(sh('ip', ['-j', 'link', 'show']) || '[]'))
    if (l.ifname.startsWith(prefix)) sh('ip', ['link', 'del', l.ifname]);
}
// Before lifecycle.mjs's own exit handler removes the temp dir, and runc's state with it.
process.prependListener('exit', cleanupHost);

const { up, call } = await startUp(cli, {
  dir,
  apiPort,
  httpPort,
  httpsPort: await freePort(),
  bridge: `${prefix}br`,
  prefix,
  subnet,
});
const { get, close } = edgeGetter(httpPort);
while ((await call('GET', '/v1/nodes')).items?.[0]?.status !== 'ready') await sleep(100);

const image = (page) =>
  pushBusyboxImage(registry.host, `bench/web-${page}`, {
    cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & wait'],
    files: { 'www/index.html': `${page}\n` },
  });
const deploy = (app, img, page) => timedDeploy({ call, get }, app, img.reference, page);
const fmt = (ms) => `${ms.toFixed(0)} ms`;

const health = { path: '/', interval: '1s', timeout: '1s' };
// Cold: each app's first deploy pulls its image (a new image per app, so nothing is on the node yet).
const cold = [];
for (let i = 0; i < COLD; i++) {
  const app = `cold-${i}`;
  await call('POST', '/v1/apps', {
    name: app,
    resources: { memory: '32m', cpu: '0.1' },
    health_check: health,
  });
  cold.push(await deploy(app, await image(`cold${i}`), `cold${i}`));
}
// Warm: both images are on the node after the first two deploys; alternate between them.
const [a, b] = [await image('warm-a'), await image('warm-b')];
await call('POST', '/v1/apps', {
  name: 'warm',
  resources: { memory: '32m', cpu: '0.1' },
  health_check: health,
});
await deploy('warm', a, 'warm-a');
await deploy('warm', b, 'warm-b');
const warm = [];
for (let i = 0; i < WARM; i++) warm.push(await deploy('warm', i % 2 ? b : a, i % 2 ? 'warm-b' : 'warm-a'));

// 20 deploys under load: two keep-alive loops through the edge the whole time.
let running = true;
const counts = { ok: 0, failed: [] };
const loops = [0, 1].map(async () => {
  while (running) {
    const r = await get('warm.localhost');
    if (r.status === 200) counts.ok++;
    else counts.failed.push(`${r.status} ${r.body.slice(0, 60)}`);
  }
});
// Start from the image that does not serve now, so every deploy changes the page.
const serving = (await get('warm.localhost')).body === 'warm-a\n' ? 'a' : 'b';
for (let i = 0; i < DEPLOYS; i++) {
  const next = (i % 2 === 0) === (serving === 'a') ? 'b' : 'a';
  await deploy('warm', next === 'a' ? a : b, `warm-${next}`);
}
running = false;
await Promise.all(loops);

const result = {
  cold_ms: { p50: pct(cold, 50), max: Math.max(...cold), runs: cold.length },
  warm_ms: { p50: pct(warm, 50), p90: pct(warm, 90), runs: warm.length },
  under_load: { deploys: DEPLOYS, requests_ok: counts.ok, requests_failed: counts.failed.length },
};
console.log(
  `deploy to first 200 through the edge, cold (image pulled): p50 ${fmt(result.cold_ms.p50)}, max ${fmt(result.cold_ms.max)} over ${COLD}`,
);
console.log(
  `deploy to first 200 through the edge, warm (image on the node): p50 ${fmt(result.warm_ms.p50)}, p90 ${fmt(result.warm_ms.p90)} over ${WARM}`,
);
console.log(
  `${DEPLOYS} deploys under load: ${counts.ok} requests answered 200, ${counts.failed.length} failed`,
);
if (counts.failed.length > 0) console.log(`first failures: ${counts.failed.slice(0, 5).join(' | ')}`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/deploy.json'), `${JSON.stringify(result, null, 2)}\n`);

for (const app of ['warm', ...cold.map((_, i) => `cold-${i}`)]) await call('DELETE', `/v1/apps/${app}`);
// Give the agent time to stop the containers before `up` (and with it the agent) goes.
for (let i = 0; i < 100; i++) {
  const left = execFileSync('runc', ['--root', join(dir, 'agent', 'runtime', 'runc'), 'list', '-q'], {
    encoding: 'utf8',
  }).trim();
  if (left === '') break;
  await sleep(200);
}
up.kill('SIGTERM');
await new Promise((r) => up.once('exit', r));
await registry.stop();
close();
process.exit(counts.failed.length > 0 ? 1 : 0);
