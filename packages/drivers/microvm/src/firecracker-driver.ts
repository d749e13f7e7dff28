import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, copyFile, link, mkdir, readFile, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DriverError,
  instanceSpecSchema,
  type DriverFingerprint,
  type InstanceHandle,
  type InstanceSpec,
  type RuntimeDriver,
} from '@shellwego/driver-sdk';
import { DEFAULT_CONFIG_DRIVE_DIR, guestConfigOf, writeConfigDrive } from './config-drive.js';
import {
  bootVm,
  createSnapshot,
  FirecrackerApi,
  loadSnapshot,
  pauseVm,
  resumeVm,
  type BootPlan,
} from './firecracker-api.js';
import { currentKernel, type InstalledKernel } from './kernel.js';
import { rotateIfLarge } from './logs.js';
import { bridgeVethToTap, findVeth, networkOf, TAP } from './netns.js';
import { kernelCmdline } from './qemu-args.js';
import { cachedRootImage, createInstanceRoot, recordImageUse } from './rootfs-image.js';
import { mustRun, runTool } from './run-tool.js';
import { spawnShim } from './shim.js';
import { makeHandle, type MicrovmDriverState } from './state.js';
import { exists, fail, instanceFiles, livePid, sleep, VmLifecycle } from './vm-lifecycle.js';
import {
  checkVolumesFree,
  LOCK_BUSY_EXIT,
  lockPrefix,
  prepareVolumes,
  type AttachedVolume,
} from './volumes.js';

const TMPFS_MAGIC = 0x01021994;
const SOCKET_TIMEOUT_MS = 10_000;

/** Run Firecracker under its jailer (chroot, cgroup, dropped privileges). */
export interface JailerOptions {
  binary: string;
  uid: number;
  gid: number;
  /** Default /srv/jailer. The config drive is copied into a tmpfs mounted inside the chroot. */
  chrootBaseDir?: string;
}

export interface FirecrackerDriverOptions {
  /** Firecracker binary (default `firecracker` on PATH). */
  firecracker?: string;
  jailer?: JailerOptions;
  /** Where `installKernel` put a vmlinux (source `vmlinux`), or the boot files directly. */
  kernelDir?: string;
  kernel?: Pick<InstalledKernel, 'vmlinux' | 'initramfs'>;
  imageCacheDir?: string;
  configDriveDir?: string;
  runDir?: string;
}

type Kernel = { vmlinux: string; initramfs: string };

/**
 * The Firecracker backend of the microvm runtime, for KVM hosts. Same guest (initramfs init, ext4 root, tmpfs
 * config drive) as the QEMU backend; configured over the API socket, with config and secrets also in MMDS V2.
 * Extra abilities beyond RuntimeDriver: pause/resume and snapshot create/load.
 */
export class FirecrackerDriver extends VmLifecycle implements RuntimeDriver {
  protected readonly backend = 'firecracker' as const;
  private readonly opts: FirecrackerDriverOptions;
  private readonly firecracker: string;

  constructor(opts: FirecrackerDriverOptions = {}) {
    super();
    this.opts = opts;
    this.firecracker = opts.firecracker ?? 'firecracker';
  }

  private async kernel(): Promise<Kernel | null> {
    const k =
      this.opts.kernel ??
      (this.opts.kernelDir === undefined ? null : await currentKernel(this.opts.kernelDir));
    return k === null || k.vmlinux === null ? null : { vmlinux: k.vmlinux, initramfs: k.initramfs };
  }

  async fingerprint(): Promise<DriverFingerprint> {
    const kvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    );
    if (!kvm) {
      return {
        usable: false,
        reason: 'no usable /dev/kvm: Firecracker needs KVM (this host can run the QEMU backend with TCG)',
      };
    }
    const r = await runTool(this.firecracker, ['--version']).catch((e: unknown) => ({
      code: -1,
      stdout: '',
      stderr: String(e),
    }));
    const version = /Firecracker v?(\S+)/i.exec(r.stdout)?.[1];
    if (r.code !== 0 || version === undefined) {
      return {
        usable: false,
        reason: `no firecracker binary (\`${this.firecracker} --version\` failed: ${r.stderr.trim() || 'no output'})`,
      };
    }
    if (this.opts.jailer !== undefined && !(await exists(this.opts.jailer.binary))) {
      return { usable: false, reason: `jailer ${this.opts.jailer.binary} not found` };
    }
    if ((await this.kernel()) === null) {
      return {
        usable: false,
        reason: 'no vmlinux installed: run `shellwego kernel install --vmlinux <path|url>`',
      };
    }
    return {
      usable: true,
      version,
      attributes: {
        backend: 'firecracker',
        jailer: String(this.opts.jailer !== undefined),
        volumes: 'virtio-blk',
      },
    };
  }

  private stateFor(spec: {
    instanceId: string;
    stateDir: string;
    logDir: string;
    netnsPath?: string;
    resources: { memoryBytes: number };
  }): MicrovmDriverState {
    const instanceDir = join(spec.stateDir, 'microvm', spec.instanceId);
    return {
      backend: 'firecracker',
      instanceDir,
      runDir: join(
        this.opts.runDir ?? '/run/shellwego-microvm',
        createHash('sha256').update(instanceDir).digest('hex').slice(0, 16),
      ),
      logPath: join(spec.logDir, `${spec.instanceId}.log`),
      configDrive: join(this.opts.configDriveDir ?? DEFAULT_CONFIG_DRIVE_DIR, `${spec.instanceId}.cfg`),
      netnsPath: spec.netnsPath ?? null,
      veth: null,
      memoryBytes: spec.resources.memoryBytes,
      // Firecracker's --id: letters, digits and '-', at most 64; it is also our marker on the command line.
      marker: `swg-vm-${spec.instanceId.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 64),
      startedAt: new Date().toISOString(),
    };
  }

  async start(input: InstanceSpec): Promise<InstanceHandle> {
    return this.launch(input, null);
  }

  /**
   * Starts `spec` from a snapshot taken with `snapshot()` of the same instance id and state dir: Firecracker needs
   * the disks at the paths they had, and the TAP is overridden. MMDS data is put again (snapshots lack it).
   */
  async startFromSnapshot(input: InstanceSpec, snapshotDir: string): Promise<InstanceHandle> {
    return this.launch(input, snapshotDir);
  }

  private async launch(input: InstanceSpec, snapshotDir: string | null): Promise<InstanceHandle> {
    const parsed = instanceSpecSchema.safeParse(input);
    if (!parsed.success) throw fail('INVALID_SPEC', `invalid instance spec: ${parsed.error.message}`);
    const spec = parsed.data;
    const kernel = await this.kernel();
    if (kernel === null)
      throw fail('DRIVER_UNAVAILABLE', 'no vmlinux installed: run `shellwego kernel install --vmlinux`');
    const st = this.stateFor(spec);
    if ((await livePid(st)) !== null)
      throw fail('START_FAILED', `VM ${spec.instanceId} is already running; stop it first`);
    const files = instanceFiles(st.instanceDir);
    const configDir = join(st.configDrive, '..');
    const apiSock = this.apiSocket(st);
    try {
      await mkdir(st.instanceDir, { recursive: true, mode: 0o700 });
      await mkdir(st.runDir, { recursive: true, mode: 0o700 });
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
      // A snapshot's drives keep their paths, so restoring one needs the same volumes, prepared the same way.
      const volumes = await prepareVolumes(spec.volumes, join(spec.stateDir, 'microvm', 'tmp'));
      await checkVolumesFree(volumes);
      if (snapshotDir === null) {
        const cacheDir = this.imageCacheOf(st);
        const base = await cachedRootImage(cacheDir, spec.rootfs);
        await recordImageUse(cacheDir, base, st.instanceDir);
        await createInstanceRoot(base, this.rootImageOf(st), 'raw');
      } else {
        await createInstanceRoot(join(snapshotDir, 'root.ext4'), this.rootImageOf(st), 'raw');
      }
      let network = null;
      if (spec.netnsPath !== undefined) {
        const veth = await findVeth(spec.netnsPath, spec.network?.ip);
        if (veth === null)
          throw fail(
            'START_FAILED',
            `no interface holding ${spec.network?.ip ?? 'an IPv4 address'} in ${spec.netnsPath}`,
          );
        network = networkOf(veth, spec.network);
        st.veth = veth;
        await bridgeVethToTap(spec.netnsPath, veth);
      }
      const guest = guestConfigOf(spec, network, volumes);
      await writeConfigDrive(configDir, spec.instanceId, guest);

      await rm(apiSock, { force: true });
      const paths = await this.prepareJail(st, kernel, volumes);
      const fc = this.command(st, apiSock);
      const command =
        spec.netnsPath === undefined || this.opts.jailer !== undefined
          ? fc
          : ['nsenter', `--net=${spec.netnsPath}`, '--', ...fc];
      const shim = await spawnShim({
        command,
        pidFile: files.pidFile,
        exitFile: files.exitFile,
        logPath: st.logPath,
        prefix: lockPrefix(volumes),
      });
      await this.waitSocket(st, apiSock, async () => {
        if (shim.exitCode() !== LOCK_BUSY_EXIT) return;
        // Another start took a volume between our check and the spawn: name it.
        await checkVolumesFree(volumes);
        throw fail('START_FAILED', `a volume of ${spec.instanceId} is in use by another instance`);
      });

      // MMDS V2 holds the same configuration, secrets included, for apps that read 169.254.169.254.
      const metadata = {
        shellwego: {
          instanceId: spec.instanceId,
          hostname: spec.hostname,
          ...(network === null ? {} : { network }),
          env: spec.process.env,
          secrets: spec.secrets,
        },
      };
      const api = new FirecrackerApi(apiSock);
      try {
        if (snapshotDir === null) {
          const plan: BootPlan = {
            kernel: paths.kernel,
            initramfs: paths.initramfs,
            bootArgs: kernelCmdline(null, volumes.length),
            vcpus: Math.min(32, Math.max(1, Math.ceil(spec.resources.cpuMilli / 1000))),
            memoryMiB: Math.max(64, Math.ceil(spec.resources.memoryBytes / 2 ** 20)),
            rootImage: paths.rootImage,
            configDrive: paths.configDrive,
            volumes: paths.volumes,
            nic: network === null ? null : { tap: TAP, mac: network.mac },
            metadata,
          };
          await bootVm(api, plan);
        } else {
          await loadSnapshot(api, {
            snapshotPath: join(snapshotDir, 'vmstate'),
            memPath: join(snapshotDir, 'mem'),
            tap: network === null ? null : TAP,
            metadata,
          });
        }
      } finally {
        await api.close();
      }
    } catch (e) {
      const pid = await livePid(st).catch(() => null);
      if (pid !== null) process.kill(pid, 'SIGKILL');
      await this.release(st).catch(() => undefined);
      if (e instanceof DriverError) throw e;
      throw fail('START_FAILED', `could not start VM ${spec.instanceId}: ${(e as Error).message}`, e);
    }
    return makeHandle(spec.instanceId, st);
  }

  private chrootOf(st: MicrovmDriverState): string | null {
    const j = this.opts.jailer;
    if (j === undefined) return null;
    return join(j.chrootBaseDir ?? '/srv/jailer', 'firecracker', st.marker, 'root');
  }

  private apiSocket(st: MicrovmDriverState): string {
    const chroot = this.chrootOf(st);
    return chroot === null ? join(st.runDir, 'api.sock') : join(chroot, 'run', 'firecracker.socket');
  }

  private command(st: MicrovmDriverState, apiSock: string): string[] {
    const j = this.opts.jailer;
    if (j === undefined) return [this.firecracker, '--api-sock', apiSock, '--id', st.marker];
    return [
      j.binary,
      '--id',
      st.marker,
      '--exec-file',
      this.firecracker,
      '--uid',
      String(j.uid),
      '--gid',
      String(j.gid),
      '--chroot-base-dir',
      j.chrootBaseDir ?? '/srv/jailer',
      ...(st.netnsPath === null ? [] : ['--netns', st.netnsPath]),
      '--',
      '--api-sock',
      '/run/firecracker.socket',
    ];
  }

  /**
   * Without a jailer the VMM sees host paths. With one, every file must be inside the chroot: kernel and root are
   * hard-linked (copied across filesystems), the config drive goes into a tmpfs mounted in the chroot so the
   * secrets stay off disk. Volume images are bind-mounted (a copy would not persist), and handed to the jail's uid.
   */
  private async prepareJail(
    st: MicrovmDriverState,
    kernel: Kernel,
    volumes: readonly AttachedVolume[],
  ): Promise<{
    kernel: string;
    initramfs: string;
    rootImage: string;
    configDrive: string;
    volumes: { path: string; readOnly: boolean }[];
  }> {
    const chroot = this.chrootOf(st);
    const j = this.opts.jailer;
    if (chroot === null || j === undefined) {
      return {
        kernel: kernel.vmlinux,
        initramfs: kernel.initramfs,
        rootImage: this.rootImageOf(st),
        configDrive: st.configDrive,
        volumes: volumes.map((v) => ({ path: v.image, readOnly: v.readOnly })),
      };
    }
    await mkdir(join(chroot, 'cfg'), { recursive: true });
    const place = async (src: string, name: string): Promise<string> => {
      await rm(join(chroot, name), { force: true });
      await link(src, join(chroot, name)).catch(() => copyFile(src, join(chroot, name)));
      await runTool('chown', [`${j.uid}:${j.gid}`, join(chroot, name)]);
      return `/${name}`;
    };
    await runTool('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', join(chroot, 'cfg')]);
    await runTool('chown', [`${j.uid}:${j.gid}`, join(chroot, 'cfg')]);
    const jailed: { path: string; readOnly: boolean }[] = [];
    for (const [i, v] of volumes.entries()) {
      const at = join(chroot, `vol${i}.ext4`);
      await writeFile(at, '');
      await mustRun('mount', ['--bind', ...(v.readOnly ? ['-o', 'ro'] : []), v.image, at]);
      if (!v.readOnly) await mustRun('chown', [`${j.uid}:${j.gid}`, v.image]);
      jailed.push({ path: `/vol${i}.ext4`, readOnly: v.readOnly });
    }
    return {
      kernel: await place(kernel.vmlinux, 'vmlinux'),
      initramfs: await place(kernel.initramfs, 'initramfs.cpio.gz'),
      rootImage: await place(this.rootImageOf(st), 'root.ext4'),
      configDrive: await place(st.configDrive, 'cfg/config.tar'),
      volumes: jailed,
    };
  }

  private async waitSocket(
    st: MicrovmDriverState,
    apiSock: string,
    checkShim: () => Promise<void>,
  ): Promise<void> {
    const deadline = Date.now() + SOCKET_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await checkShim();
      if (await exists(instanceFiles(st.instanceDir).exitFile)) {
        const tail = (await readFile(st.logPath, 'utf8').catch(() => '')).slice(-800).trim();
        throw fail('START_FAILED', `firecracker exited at once: ${tail || 'no output'}`);
      }
      // The socket file appears at bind(), a moment before listen(): only an answer means ready.
      if (await exists(apiSock)) {
        const api = new FirecrackerApi(apiSock);
        const ok = await api.call('GET', '/').then(
          () => true,
          () => false,
        );
        await api.close();
        if (ok) return;
      }
      await sleep(20);
    }
    throw fail(
      'START_FAILED',
      `firecracker API socket ${apiSock} did not appear within ${SOCKET_TIMEOUT_MS} ms`,
    );
  }

  private async withApi<T>(handle: InstanceHandle, fn: (api: FirecrackerApi) => Promise<T>): Promise<T> {
    const st = this.parse(handle);
    if ((await livePid(st)) === null)
      throw fail('INSTANCE_NOT_FOUND', `VM of ${handle.instanceId} is not running`);
    const api = new FirecrackerApi(this.apiSocket(st));
    try {
      return await fn(api);
    } catch (e) {
      if (e instanceof DriverError) throw e;
      throw fail('RUNTIME_FAILED', `${handle.instanceId}: ${(e as Error).message}`, e);
    } finally {
      await api.close();
    }
  }

  async pause(handle: InstanceHandle): Promise<void> {
    await this.withApi(handle, pauseVm);
  }

  async resume(handle: InstanceHandle): Promise<void> {
    await this.withApi(handle, resumeVm);
  }

  /** Pauses the VM, writes vmstate + mem + a copy of the root disk into `dir` (for startFromSnapshot), resumes. */
  async snapshot(handle: InstanceHandle, dir: string): Promise<void> {
    const st = this.parse(handle);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.withApi(handle, async (api) => {
      await pauseVm(api);
      try {
        const chroot = this.chrootOf(st);
        // Inside a jail Firecracker writes relative to its chroot; the files are then moved out.
        const vmstate = chroot === null ? join(dir, 'vmstate') : '/vmstate';
        const mem = chroot === null ? join(dir, 'mem') : '/mem';
        await createSnapshot(api, vmstate, mem);
        if (chroot !== null) {
          await runTool('mv', [join(chroot, 'vmstate'), join(chroot, 'mem'), dir]);
        }
        await createInstanceRoot(this.rootImageOf(st), join(dir, 'root.ext4'), 'raw');
      } finally {
        await resumeVm(api);
      }
    });
  }

  async recover(handle: InstanceHandle): Promise<boolean> {
    const st = this.parse(handle);
    await this.pruneImages(st);
    if ((await livePid(st)) === null) return false;
    const api = new FirecrackerApi(this.apiSocket(st));
    try {
      await api.call('GET', '/');
      return true;
    } catch {
      return false;
    } finally {
      await api.close();
    }
  }

  /** Ctrl-Alt-Del: the guest kernel sends SIGINT to init, which passes SIGTERM to the app. */
  protected async requestShutdown(st: MicrovmDriverState): Promise<void> {
    const api = new FirecrackerApi(this.apiSocket(st));
    await api.put('/actions', { action_type: 'SendCtrlAltDel' }).catch(() => undefined);
    await api.close().catch(() => undefined);
  }

  protected async releaseBackend(st: MicrovmDriverState): Promise<void> {
    const chroot = this.chrootOf(st);
    if (chroot === null) return;
    await runTool('umount', ['-l', join(chroot, 'cfg')]).catch(() => undefined);
    for (const f of await readdir(chroot).catch(() => [] as string[])) {
      if (/^vol\d+\.ext4$/.test(f)) await runTool('umount', ['-l', join(chroot, f)]).catch(() => undefined);
    }
    await rm(join(chroot, '..'), { recursive: true, force: true });
  }

  protected rootImageOf(st: MicrovmDriverState): string {
    return join(st.instanceDir, 'root.ext4');
  }

  protected imageCacheOf(st: MicrovmDriverState): string {
    return this.opts.imageCacheDir ?? join(st.instanceDir, '..', 'images');
  }
}
