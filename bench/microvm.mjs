// Issue 8's figures for the microvm driver: deploy-to-first-200 (QemuDriver.start → first HTTP 200 from the guest)
// side by side with the lab recipe's raw QEMU boot (MICROVM-LAB.md: its initramfs /init, its ext4 root with an
// httpd /init, its command line) measured in the same run over the same network path, as a ratio; and host memory
// per idle VM (QEMU RSS). Also the same start with a volume attached (an ext4 image on a second virtio-blk drive,
// httpd serving from it). Interleaved runs (raw, driver, driver+volume, raw, …), medians.
// Needs root (namespaces, TAP) and a built tree: `npm run build`, then `node bench/microvm.mjs`. RUNS=3 by default.
/* global fetch, AbortSignal -- Node 20 globals the shared ESLint config does not list */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { children, intEnv, makeTempDir, requireBuilt } from './lib/lifecycle.mjs';

const root = join(import.meta.dirname, '..');
const built = 'packages/drivers/microvm/dist/index.js';
if (!requireBuilt(root, [built], 'node bench/microvm.mjs')) process.exit(2);
if (process.getuid?.() !== 0) {
  console.error('bench: run as root (network namespaces and TAP devices)');
  process.exit(2);
}
const { QemuDriver, installKernel } = await import(join(root, built));
const RUNS = intEnv('RUNS', 3);
const kernelDir = process.env.SHELLWEGO_KERNEL_DIR ?? '/var/cache/shellwego-test/kernel';
const dir = makeTempDir('swg-bench-mvm-');
const tag = `bm${process.pid.toString(36).slice(-4)}`;
const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const nets = [];
process.on('exit', () => {
  for (const n of nets) {
    try {
      ip('netns', 'del', n.ns);
    } catch {
      // already gone
    }
  }
  for (const d of [`/dev/shm/${tag}`, `/run/${tag}`]) execFileSync('rm', ['-rf', d]);
});

const kernel = await installKernel({ dir: kernelDir });

/** An image tree: static busybox with relative applet links, plus files. */
function busyboxTree(path, files) {
  mkdirSync(join(path, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(path, 'bin', 'busybox'));
  for (const a of execFileSync('/bin/busybox', ['--list']).toString().split('\n')) {
    if (a && a !== 'busybox') symlinkSync('busybox', join(path, 'bin', a));
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'www', 'root'])
    mkdirSync(join(path, d), { recursive: true });
  for (const [p, c] of Object.entries(files)) {
    writeFileSync(join(path, p), c);
    if (p === 'init') chmodSync(join(path, p), 0o755);
  }
  return path;
}

// --- the lab recipe, as MICROVM-LAB.md ran it (build-initramfs.sh vmmode=root, build-rootfs.sh) ---
const labInit = `#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
mount -t ext4 -o rw /dev/vda /newroot || poweroff -f
umount /proc /sys 2>/dev/null; mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /init
`;
const labRootInit = `#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; [ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
IPARG=""; for a in $(cat /proc/cmdline); do case "$a" in ip=*) IPARG=\${a#ip=} ;; esac; done
IFS=: read CLIENT SERVER GW MASK HOST DEV AUTO <<EOT
$IPARG
EOT
ifconfig lo 127.0.0.1 up; ifconfig eth0 "$CLIENT" netmask "$MASK" up; route add default gw "$GW"
(ping -c 1 -W 1 "$GW" >/dev/null 2>&1 &)
echo hello > /www/index.html; httpd -p 8080 -h /www
while :; do sleep 3600; done
`;
const labStage = join(dir, 'lab-initramfs');
mkdirSync(join(labStage, 'lib', 'modules'), { recursive: true });
busyboxTree(labStage, { init: labInit });
mkdirSync(join(labStage, 'newroot'));
for (const m of kernel.modules) copyFileSync(m, join(labStage, 'lib', 'modules', m.split('/').pop()));
writeFileSync(
  join(labStage, 'lib', 'modules', 'order'),
  kernel.modules.map((m) => m.split('/').pop().replace(/\.ko$/, '')).join('\n') + '\n',
);
const labInitramfs = join(dir, 'lab-initramfs.cpio.gz');
execFileSync('/bin/sh', [
  '-c',
  `cd ${labStage} && find . | cpio -o -H newc --quiet --owner=0:0 | gzip -6 > ${labInitramfs}`,
]);
const labRootfs = join(dir, 'lab-rootfs.ext4');
execFileSync('mkfs.ext4', [
  '-q',
  '-F',
  '-L',
  'vmroot',
  '-d',
  busyboxTree(join(dir, 'lab-root'), { init: labRootInit }),
  labRootfs,
  '64M',
]);
const tscKhz = Math.round(
  Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))[1]) * 1000,
);

// --- networks: as the agent makes them (netns, veth, host end = gateway) ---
function makeNet(name, third) {
  const n = {
    ns: `${tag}${name}`,
    host: `${tag}h${name}`,
    ip: `10.248.${third}.2`,
    gw: `10.248.${third}.1`,
    mac: `02:00:00:f8:${third.toString(16).padStart(2, '0')}:02`,
  };
  nets.push(n);
  ip('netns', 'add', n.ns);
  ip('link', 'add', n.host, 'type', 'veth', 'peer', 'name', 'eth0', 'address', n.mac, 'netns', n.ns);
  ip('addr', 'add', `${n.gw}/24`, 'dev', n.host);
  ip('link', 'set', n.host, 'up');
  ip('-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', 'eth0');
  ip('-n', n.ns, 'link', 'set', 'lo', 'up');
  ip('-n', n.ns, 'link', 'set', 'eth0', 'up');
  ip('-n', n.ns, 'route', 'add', 'default', 'via', n.gw);
  return n;
}
const freeThird = () => {
  for (;;) {
    const t = 1 + Math.floor(Math.random() * 250);
    if (ip('route', 'show', `10.248.${t}.0/24`).trim() === '') return t;
  }
};

async function firstOk(url, deadlineMs = 120_000) {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (r.status === 200) return performance.now();
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  throw new Error(`no HTTP 200 from ${url}`);
}
const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/** The lab's raw QEMU line, in a namespace bridged like the driver does it (the lab used no veth). */
async function rawRun(i) {
  const n = makeNet(`r${i}`, freeThird());
  ip('-n', n.ns, 'addr', 'flush', 'dev', 'eth0');
  ip('-n', n.ns, 'link', 'set', 'eth0', 'address', '02:00:00:00:ff:01');
  ip('-n', n.ns, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0');
  ip('-n', n.ns, 'link', 'set', 'eth0', 'master', 'br0');
  ip('-n', n.ns, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
  ip('-n', n.ns, 'link', 'set', 'tap0', 'master', 'br0', 'up');
  ip('-n', n.ns, 'link', 'set', 'br0', 'up');
  const append = `console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz=${tscKhz} tsc=reliable no_timer_check i8042.noaux i8042.nokbd ip=${n.ip}::${n.gw}:255.255.255.0:vm1:eth0:off`;
  const t0 = performance.now();
  const vm = spawn(
    'ip',
    [
      'netns',
      'exec',
      n.ns,
      'qemu-system-x86_64',
      '-M',
      'microvm',
      '-accel',
      'tcg',
      '-cpu',
      'max',
      '-m',
      '128',
      '-smp',
      '1',
      '-nographic',
      '-no-reboot',
      '-kernel',
      kernel.kernel,
      '-initrd',
      labInitramfs,
      '-append',
      append,
      '-drive',
      `id=root,file=${labRootfs},format=raw,if=none,snapshot=on`,
      '-device',
      'virtio-blk-device,drive=root',
      '-netdev',
      'tap,id=n0,ifname=tap0,script=no,downscript=no',
      '-device',
      `virtio-net-device,netdev=n0,mac=${n.mac}`,
    ],
    { stdio: 'ignore' },
  );
  children.add(vm);
  try {
    const t1 = await firstOk(`http://${n.ip}:8080/`);
    await sleep(3000);
    return { ms: t1 - t0, rss: rssOf(vm.pid) };
  } finally {
    vm.kill('SIGKILL');
    await new Promise((r) => (vm.exitCode !== null ? r() : vm.once('exit', r)));
    children.delete(vm);
    ip('netns', 'del', n.ns);
    nets.splice(nets.indexOf(n), 1);
  }
}

const driver = new QemuDriver({ kernelDir, configDriveDir: `/dev/shm/${tag}`, runDir: `/run/${tag}` });
const image = busyboxTree(join(dir, 'app-image'), { 'www/index.html': 'hello\n' });
// The volume's image is created on its first use (warm-up) and reused by every later run, as on a node.
const volumeDir = join(dir, 'volume');
mkdirSync(volumeDir);
writeFileSync(join(volumeDir, 'index.html'), 'hello from the volume\n');
async function driverRun(i, withVolume = false) {
  const n = makeNet(`${withVolume ? 'v' : 'd'}${i}`, freeThird());
  const spec = {
    instanceId: `${tag}-${withVolume ? 'v' : 'd'}${i}`,
    appId: 'bench',
    rootfs: image,
    process: {
      args: ['httpd', '-f', '-p', '8080', '-h', withVolume ? '/srv/www' : '/www'],
      env: ['PATH=/bin'],
      cwd: '/',
      user: { uid: 0, gid: 0 },
    },
    hostname: 'bench',
    resources: { memoryBytes: 128 * 2 ** 20, cpuMilli: 1000, pidsLimit: 64 },
    secrets: { SOVEREIGN_KEY: 'topsecret' },
    netnsPath: `/var/run/netns/${n.ns}`,
    network: { ip: n.ip, prefix: 24, gateway: n.gw, mac: n.mac },
    volumes: withVolume ? [{ source: volumeDir, target: '/srv/www', readOnly: false }] : [],
    logDir: join(dir, 'logs'),
    stateDir: join(dir, 'state'),
  };
  const t0 = performance.now();
  const h = await driver.start(spec);
  const tStarted = performance.now();
  try {
    const t1 = await firstOk(`http://${n.ip}:8080/`);
    if (withVolume) {
      const body = await (await fetch(`http://${n.ip}:8080/`)).text();
      if (!body.includes('from the volume')) throw new Error(`httpd did not serve the volume: ${body}`);
    }
    await sleep(3000);
    const s = await driver.stats(h);
    const log = readFileSync(join(spec.logDir, `${spec.instanceId}.log`), 'utf8');
    const uptime = Number(/starting the app at uptime ([\d.]+)/.exec(log)?.[1] ?? NaN);
    return { ms: t1 - t0, startMs: tStarted - t0, rss: s.memoryBytes, guestUptimeAtApp: uptime * 1000 };
  } finally {
    await driver.destroy(h);
    ip('netns', 'del', n.ns);
    nets.splice(nets.indexOf(n), 1);
  }
}

// Build the cached ext4 image once, outside the measured runs (an image is converted once per node, not per deploy).
{
  const t0 = performance.now();
  const warm = await driverRun(0);
  const warmVol = await driverRun(0, true);
  console.error(
    `warm-up (includes the one-off ext4 image build): ${Math.round(performance.now() - t0)} ms, first 200 after ${Math.round(warm.ms)} ms; with the volume's image creation ${Math.round(warmVol.ms)} ms`,
  );
}
const raw = [];
const drv = [];
const vol = [];
for (let i = 1; i <= RUNS; i++) {
  raw.push(await rawRun(i));
  drv.push(await driverRun(i));
  vol.push(await driverRun(i, true));
  console.error(
    `run ${i}: raw ${Math.round(raw.at(-1).ms)} ms, driver ${Math.round(drv.at(-1).ms)} ms, with volume ${Math.round(vol.at(-1).ms)} ms`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (b) => Math.round((b / 2 ** 20) * 10) / 10;
const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const result = {
  accel: 'tcg',
  runs: RUNS,
  rawLabBootToFirst200Ms: Math.round(median(raw.map((r) => r.ms))),
  driverDeployToFirst200Ms: Math.round(median(drv.map((r) => r.ms))),
  driverStartCallMs: Math.round(median(drv.map((r) => r.startMs))),
  driverWithVolumeToFirst200Ms: Math.round(median(vol.map((r) => r.ms))),
  driverWithVolumeStartCallMs: Math.round(median(vol.map((r) => r.startMs))),
  driverGuestUptimeAtAppStartMs: Math.round(median(drv.map((r) => r.guestUptimeAtApp))),
  ratio: Math.round((median(drv.map((r) => r.ms)) / median(raw.map((r) => r.ms))) * 100) / 100,
  idleQemuRssMiB: { raw: mib(median(raw.map((r) => r.rss))), driver: mib(median(drv.map((r) => r.rss))) },
  guestRamMiB: 128,
  loadavg,
};
console.log(
  [
    `microvm bench (QEMU ${result.accel}, ${RUNS} interleaved runs, medians; load average ${loadavg})`,
    `  lab recipe, raw QEMU launch → first 200   ${result.rawLabBootToFirst200Ms} ms`,
    `  QemuDriver.start → first 200              ${result.driverDeployToFirst200Ms} ms  (start() itself ${result.driverStartCallMs} ms)`,
    `  same, one volume attached (1 GiB ext4)    ${result.driverWithVolumeToFirst200Ms} ms  (start() itself ${result.driverWithVolumeStartCallMs} ms)`,
    `  guest uptime when init starts the app     ${result.driverGuestUptimeAtAppStartMs} ms`,
    `  ratio driver / raw                        ${result.ratio}×`,
    `  idle VM host memory (QEMU RSS, 128 MiB)   raw ${result.idleQemuRssMiB.raw} MiB, driver ${result.idleQemuRssMiB.driver} MiB`,
  ].join('\n'),
);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'microvm.json'), JSON.stringify(result, null, 2));
