import { describe, expect, it } from 'vitest';
import { hostTscKhz, kernelCmdline, qemuArgs, type QemuLaunch } from './qemu-args.js';

const launch: QemuLaunch = {
  qemu: 'qemu-system-x86_64',
  accel: 'tcg',
  marker: 'swg-vm-a',
  kernel: '/k/vmlinux',
  initramfs: '/k/initramfs.cpio.gz',
  memoryMiB: 128,
  vcpus: 1,
  rootImage: '/s/a,b/root.qcow2',
  configDrive: '/dev/shm/x/a.cfg',
  logPath: '/l/a.log',
  pidFile: '/s/qemu.pid',
  qmpSocket: '/run/x/qmp.sock',
  ctlSocket: '/run/x/ctl.sock',
  nic: { tap: 'swgtap0', mac: '02:00:00:00:00:02' },
  volumes: [],
  tscKhz: 2096042,
};

describe('qemu command line', () => {
  it('uses microvm, TCG with the TSC rate, the TAP with the instance MAC, a read-only config drive', () => {
    const a = qemuArgs(launch).join(' ');
    expect(a).toContain('-M microvm -accel tcg,tb-size=32 -cpu max');
    expect(a).toContain('tsc_early_khz=2096042');
    expect(a).toContain('-netdev tap,id=n0,ifname=swgtap0,script=no,downscript=no');
    expect(a).toContain('virtio-net-device,netdev=n0,mac=02:00:00:00:00:02');
    expect(a).toContain('file=/dev/shm/x/a.cfg,format=raw,if=none,readonly=on');
    // A comma in a path is doubled, or QEMU would read the rest as options.
    expect(a).toContain('file=/s/a,,b/root.qcow2');
  });

  it('uses KVM without the TSC workaround, and no NIC without a network', () => {
    const a = qemuArgs({ ...launch, accel: 'kvm', nic: null }).join(' ');
    expect(a).toContain('-accel kvm -cpu host');
    expect(a).not.toContain('tsc_early_khz');
    expect(a).toContain('-nic none');
  });

  it('attaches volumes as raw virtio-blk drives, read-only when asked, and tells the guest the drive count', () => {
    const a = qemuArgs({
      ...launch,
      volumes: [
        { image: '/v/data/.shellwego-volume.ext4', readOnly: false },
        { image: '/v/seed/.shellwego-volume.ext4', readOnly: true },
      ],
    }).join(' ');
    expect(a).toContain(
      '-drive id=vol0,file=/v/data/.shellwego-volume.ext4,format=raw,if=none,cache=writeback,discard=unmap -device virtio-blk-device,drive=vol0',
    );
    expect(a).toContain(
      '-drive id=vol1,file=/v/seed/.shellwego-volume.ext4,format=raw,if=none,cache=writeback,readonly=on -device virtio-blk-device,drive=vol1',
    );
    expect(a).toContain('swg.disks=4');
    expect(qemuArgs(launch).join(' ')).toContain('swg.disks=2');
  });

  it('reads the host TSC rate from /proc/cpuinfo', () => {
    expect(hostTscKhz('cpu MHz\t\t: 2096.042\n')).toBe(2096042);
    expect(hostTscKhz('nothing')).toBeNull();
    expect(kernelCmdline(null)).not.toContain('tsc');
  });
});
