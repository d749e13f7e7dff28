import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rm, statfs } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import {
  DriverError,
  instanceSpecSchema,
  type DriverFingerprint,
  type InstanceHandle,
  type InstanceSpec,
  type RuntimeDriver,
} from '@shellwego/driver-sdk';
import { DEFAULT_CONFIG_DRIVE_DIR, guestConfigOf, writeConfigDrive } from './config-drive.js';
import { currentKernel, type InstalledKernel } from './kernel.js';
import { rotateIfLarge } from './logs.js';
import { bridgeVethToTap, findVeth, networkOf, restoreVeth, TAP, type VethConfig } from './netns.js';
import { hostTscKhz, qemuArgs } from './qemu-args.js';
import { qmpCommand } from './qmp.js';
import { cachedRootImage, createInstanceRoot, recordImageUse } from './rootfs-image.js';
import { runTool } from './run-tool.js';
import { spawnShim } from './shim.js';
import { makeHandle, type MicrovmDriverState } from './state.js';
import { exists, fail, instanceFiles, livePid, sleep, VmLifecycle } from './vm-lifecycle.js';
import { checkVolumesFree, LOCK_BUSY_EXIT, lockPrefix, prepareVolumes } from './volumes.js';

const TMPFS_MAGIC = 0x01021994;
const START_TIMEOUT_MS = 15_000;

export interface QemuDriverOptions {
  /** Where `installKernel` put the guest kernel (its current.json is read at each start). */
  kernelDir?: string;
  /** Or the boot files directly. */
  kernel?: Pick<InstalledKernel, 'kernel' | 'initramfs' | 'modules'>;
  /** QEMU binary (default qemu-system-x86_64 on PATH). */
  qemu?: string;
  /** 'auto' (default): KVM when /dev/kvm is usable, else TCG software emulation. */
  accel?: 'auto' | 'kvm' | 'tcg';
  /** Cached ext4 images per image tree (default <spec.stateDir>/microvm/images). */
  imageCacheDir?: string;
  /** tmpfs directory for config drives (default /dev/shm/shellwego-microvm); start refuses a disk-backed one. */
  configDriveDir?: string;
  /** Short directory for QMP and control sockets (default /run/shellwego-microvm). */
  runDir?: string;
}

/**
 * The QEMU backend of the microvm runtime: `-M microvm` with virtio-mmio disks and NIC, KVM when present, TCG
 * otherwise. Name 'microvm' like the Firecracker backend; handles record which backend started them.
 */
export class QemuDriver extends VmLifecycle implements RuntimeDriver {
  protected readonly backend = 'qemu' as const;
  private readonly opts: QemuDriverOptions;
  private readonly qemu: string;

  constructor(opts: QemuDriverOptions = {}) {
    super();
    this.opts = opts;
    this.qemu = opts.qemu ?? 'qemu-system-x86_64';
  }

  private async kernel(): Promise<Pick<InstalledKernel, 'kernel' | 'initramfs' | 'modules'> | null> {
    if (this.opts.kernel !== undefined) return this.opts.kernel;
    return this.opts.kernelDir === undefined ? null : currentKernel(this.opts.kernelDir);
  }

  private async accel(): Promise<'kvm' | 'tcg'> {
    if (this.opts.accel !== undefined && this.opts.accel !== 'auto') return this.opts.accel;
    return access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      () => 'kvm' as const,
      () => 'tcg' as const,
    );
  }

  async fingerprint(): Promise<DriverFingerprint> {
    const r = await runTool(this.qemu, ['--version']).catch((e: unknown) => ({
      code: -1,
      stdout: '',
      stderr: String(e),
    }));
    const version = /version (\S+)/.exec(r.stdout)?.[1];
    if (r.code !== 0 || version === undefined) {
      return {
        usable: false,
        reason: `\`${this.qemu} --version\` failed (${r.stderr.trim() || 'no output'}); install qemu-system-x86`,
      };
    }
    if (process.getuid?.() !== 0)
      return { usable: false, reason: 'microVMs need root for TAP devices and namespaces' };
    if (!(await exists('/dev/net/tun')))
      return { usable: false, reason: '/dev/net/tun is missing: load the tun module' };
    const kernel = await this.kernel();
    if (kernel === null || !(await exists(kernel.kernel)) || !(await exists(kernel.initramfs))) {
      return {
        usable: false,
        reason: `no guest kernel installed${this.opts.kernelDir ? ` in ${this.opts.kernelDir}` : ''}: run \`shellwego kernel install\``,
      };
    }
    const accel = await this.accel();
    return {
      usable: true,
      version,
      attributes: {
        backend: 'qemu',
        accel,
        kernel: kernel.kernel,
        volumes: 'virtio-blk',
      },
    };
  }

  async start(input: InstanceSpec): Promise<InstanceHandle> {
    const parsed = instanceSpecSchema.safeParse(input);
    if (!parsed.success) throw fail('INVALID_SPEC', `invalid instance spec: ${parsed.error.message}`);
    const spec = parsed.data;
    const id = spec.instanceId;
    const kernel = await this.kernel();
    if (kernel === null)
      throw fail('DRIVER_UNAVAILABLE', 'no guest kernel installed: run `shellwego kernel install`');
    const configDir = this.opts.configDriveDir ?? DEFAULT_CONFIG_DRIVE_DIR;
    const instanceDir = join(spec.stateDir, 'microvm', id);
    const runDir = join(
      this.opts.runDir ?? '/run/shellwego-microvm',
      createHash('sha256').update(instanceDir).digest('hex').slice(0, 16),
    );
    const st: MicrovmDriverState = {
      backend: 'qemu',
      instanceDir,
      runDir,
      logPath: join(spec.logDir, `${id}.log`),
      configDrive: join(configDir, `${id}.cfg`),
      netnsPath: spec.netnsPath ?? null,
      veth: null,
      memoryBytes: spec.resources.memoryBytes,
      marker: `swg-vm-${id}`,
      startedAt: new Date().toISOString(),
    };
    if ((await livePid(st)) !== null)
      throw fail('START_FAILED', `VM ${id} is already running; stop it first`);
    const files = instanceFiles(instanceDir);
    let veth: VethConfig | null = null;
    try {
      await mkdir(instanceDir, { recursive: true, mode: 0o700 });
      await mkdir(runDir, { recursive: true, mode: 0o700 });
      await mkdir(spec.logDir, { recursive: true });
      for (const f of Object.values(files)) await rm(f, { force: true });
      await rotateIfLarge(st.logPath);
      await mkdir(configDir, { recursive: true, mode: 0o700 });
      if ((await statfs(configDir)).type !== TMPFS_MAGIC) {
        throw fail(
          'DRIVER_UNAVAILABLE',
          `config drive dir ${configDir} is not on tmpfs: secrets would reach a disk`,
        );
      }

      const volumes = await prepareVolumes(spec.volumes, join(spec.stateDir, 'microvm', 'tmp'));
      await checkVolumesFree(volumes);
      const cacheDir = this.imageCacheOf(st);
      const base = await cachedRootImage(cacheDir, spec.rootfs);
      await recordImageUse(cacheDir, base, instanceDir);
      await createInstanceRoot(base, this.rootImageOf(st), 'qcow2');

      let network = null;
      if (spec.netnsPath !== undefined) {
        veth = await findVeth(spec.netnsPath, spec.network?.ip);
        if (veth === null) {
          throw fail(
            'START_FAILED',
            `no interface holding ${spec.network?.ip ?? 'an IPv4 address'} in ${spec.netnsPath}`,
          );
        }
        network = networkOf(veth, spec.network);
        st.veth = veth;
        await bridgeVethToTap(spec.netnsPath, veth);
      }
      await writeConfigDrive(configDir, id, guestConfigOf(spec, network, volumes));

      const args = qemuArgs({
        qemu: this.qemu,
        accel: await this.accel(),
        marker: st.marker,
        kernel: kernel.kernel,
        initramfs: kernel.initramfs,
        memoryMiB: Math.max(64, Math.ceil(spec.resources.memoryBytes / 2 ** 20)),
        vcpus: Math.max(1, Math.ceil(spec.resources.cpuMilli / 1000)),
        rootImage: this.rootImageOf(st),
        configDrive: st.configDrive,
        logPath: st.logPath,
        pidFile: join(instanceDir, 'qemu.pid'),
        qmpSocket: join(runDir, 'qmp.sock'),
        ctlSocket: join(runDir, 'ctl.sock'),
        nic: network === null ? null : { tap: TAP, mac: network.mac },
        volumes: volumes.map((v) => ({ image: v.image, readOnly: v.readOnly })),
        tscKhz: hostTscKhz(),
      });
      const command =
        spec.netnsPath === undefined ? args : ['nsenter', `--net=${spec.netnsPath}`, '--', ...args];
      const shim = await spawnShim({
        command,
        pidFile: files.pidFile,
        exitFile: files.exitFile,
        logPath: st.logPath,
        prefix: lockPrefix(volumes),
      });
      await this.waitQmp(st, files.exitFile, async () => {
        if (shim.exitCode() !== LOCK_BUSY_EXIT) return;
        // Another start took a volume between our check and the spawn: name it.
        await checkVolumesFree(volumes);
        throw fail('START_FAILED', `a volume of ${id} is in use by another instance`);
      });
    } catch (e) {
      const pid = await livePid(st).catch(() => null);
      if (pid !== null) process.kill(pid, 'SIGKILL');
      await this.release(st).catch(() => undefined);
      if (veth !== null && spec.netnsPath !== undefined)
        await restoreVeth(spec.netnsPath, veth).catch(() => undefined);
      if (e instanceof DriverError) throw e;
      throw fail('START_FAILED', `could not start VM ${id}: ${(e as Error).message}`, e);
    }
    return makeHandle(id, st);
  }

  /** QEMU is up once its QMP socket answers; the guest then boots on its own (seconds under TCG). */
  private async waitQmp(
    st: MicrovmDriverState,
    exitFile: string,
    checkShim: () => Promise<void>,
  ): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await checkShim();
      if (await exists(exitFile)) {
        const tail = (await readFile(st.logPath, 'utf8').catch(() => '')).slice(-800).trim();
        throw fail('START_FAILED', `QEMU exited at once: ${tail || 'no output'}`);
      }
      const ok = await qmpCommand(join(st.runDir, 'qmp.sock'), 'query-status', 1000).then(
        () => true,
        () => false,
      );
      if (ok && (await livePid(st)) !== null) return;
      await sleep(100);
    }
    throw fail(
      'START_FAILED',
      `QEMU for ${basename(st.instanceDir)} did not come up within ${START_TIMEOUT_MS} ms`,
    );
  }

  /** Live and answering QMP: the same VM, still ours. */
  async recover(handle: InstanceHandle): Promise<boolean> {
    const st = this.parse(handle);
    await this.pruneImages(st);
    if ((await livePid(st)) === null) return false;
    const status = await qmpCommand(join(st.runDir, 'qmp.sock'), 'query-status').catch(() => null);
    return status !== null;
  }

  /** "stop" on the swg.ctl virtio-serial port: the guest init sends SIGTERM to the app. */
  protected async requestShutdown(st: MicrovmDriverState): Promise<void> {
    await new Promise<void>((resolve) => {
      const sock = connect(join(st.runDir, 'ctl.sock'));
      const done = (): void => {
        sock.destroy();
        resolve();
      };
      const timer = setTimeout(done, 1000);
      sock.on('error', () => {
        clearTimeout(timer);
        done();
      });
      sock.on('connect', () =>
        sock.write('stop\n', () =>
          setTimeout(() => {
            clearTimeout(timer);
            done();
          }, 100),
        ),
      );
    });
  }

  protected releaseBackend(): Promise<void> {
    return Promise.resolve();
  }

  protected rootImageOf(st: MicrovmDriverState): string {
    return join(st.instanceDir, 'root.qcow2');
  }

  protected imageCacheOf(st: MicrovmDriverState): string {
    return this.opts.imageCacheDir ?? join(st.instanceDir, '..', 'images');
  }
}
