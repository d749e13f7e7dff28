import { readFileSync } from 'node:fs';

export interface QemuLaunch {
  qemu: string;
  accel: 'kvm' | 'tcg';
  marker: string;
  kernel: string;
  initramfs: string;
  memoryMiB: number;
  vcpus: number;
  rootImage: string;
  configDrive: string;
  logPath: string;
  pidFile: string;
  qmpSocket: string;
  ctlSocket: string;
  /** TAP inside the instance's namespace, with the guest's MAC; null = no NIC. */
  nic: { tap: string; mac: string } | null;
  /** Volume images (ext4), attached after the root and config drives. */
  volumes: { image: string; readOnly: boolean }[];
  /** Host TSC in kHz, needed under TCG (see tscKhz). */
  tscKhz: number | null;
}

/**
 * microvm has no HPET or PM timer and PIT calibration fails under TCG, so a TCG guest hangs at boot unless told the
 * TSC rate (MICROVM-LAB.md). Under TCG the guest TSC runs at the host rate, which /proc/cpuinfo reports.
 */
export function hostTscKhz(cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')): number | null {
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1];
  return mhz === undefined ? null : Math.round(Number.parseFloat(mhz) * 1000);
}

/**
 * The guest kernel command line: serial console, quiet, no PCI probing on microvm, power off instead of reboot, and
 * how many drives the guest init waits for (root + config drive + volumes).
 */
export function kernelCmdline(tscKhz: number | null, volumes = 0): string {
  const args = ['console=ttyS0', 'quiet', 'panic=-1', 'reboot=t', 'pci=off', 'i8042.noaux', 'i8042.nokbd'];
  args.push(`swg.disks=${2 + volumes}`);
  if (tscKhz !== null) args.push(`tsc_early_khz=${tscKhz}`, 'tsc=reliable', 'no_timer_check');
  return args.join(' ');
}

/** QEMU option values separate with commas; a comma inside a path is written twice. */
const esc = (path: string): string => path.replace(/,/g, ',,');

/** The QEMU command line of one instance (`-M microvm`, virtio-mmio devices only). */
export function qemuArgs(l: QemuLaunch): string[] {
  const a = [
    l.qemu,
    '-name',
    l.marker,
    '-M',
    'microvm',
    // A smaller TCG translation cache: the default 1 GiB buffer costs ~40 MB of RSS per idle VM (MICROVM-LAB.md).
    '-accel',
    // A 32 MiB TCG translation cache instead of the default: ~12 MiB less RSS per idle VM, no slower to boot here.
    l.accel === 'tcg' ? 'tcg,tb-size=32' : 'kvm',
    '-cpu',
    l.accel === 'kvm' ? 'host' : 'max',
    '-m',
    String(l.memoryMiB),
    '-smp',
    String(l.vcpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    l.kernel,
    '-initrd',
    l.initramfs,
    '-append',
    kernelCmdline(l.accel === 'tcg' ? l.tscKhz : null, l.volumes.length),
    '-chardev',
    `file,id=con0,path=${esc(l.logPath)},append=on`,
    '-serial',
    'chardev:con0',
    '-drive',
    `id=root,file=${esc(l.rootImage)},format=qcow2,if=none,cache=writeback,discard=unmap`,
    '-device',
    'virtio-blk-device,drive=root',
    '-drive',
    `id=cfg,file=${esc(l.configDrive)},format=raw,if=none,readonly=on`,
    '-device',
    'virtio-blk-device,drive=cfg',
    '-device',
    'virtio-serial-device',
    '-chardev',
    `socket,id=ctl,path=${esc(l.ctlSocket)},server=on,wait=off`,
    '-device',
    'virtserialport,chardev=ctl,name=swg.ctl',
    '-qmp',
    `unix:${esc(l.qmpSocket)},server=on,wait=off`,
    '-pidfile',
    l.pidFile,
  ];
  if (l.nic !== null) {
    a.push('-netdev', `tap,id=n0,ifname=${l.nic.tap},script=no,downscript=no`);
    a.push('-device', `virtio-net-device,netdev=n0,mac=${l.nic.mac}`);
  } else {
    a.push('-nic', 'none');
  }
  l.volumes.forEach((v, i) => {
    // Raw, written in place (the volume's data persists); guest flushes reach the host file (cache=writeback).
    const ro = v.readOnly ? ',readonly=on' : ',discard=unmap';
    a.push('-drive', `id=vol${i},file=${esc(v.image)},format=raw,if=none,cache=writeback${ro}`);
    a.push('-device', `virtio-blk-device,drive=vol${i}`);
  });
  return a;
}
