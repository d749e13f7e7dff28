import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { GUEST_INIT } from './guest-init.js';
import { APPLETS, buildInitramfs, GUEST_MODULES, resolveModules } from './initramfs.js';
import { mustRun, runTool } from './run-tool.js';

/**
 * Where the guest kernel comes from:
 * - `debian-cloud`: Debian's cloud kernel package, fetched with `apt-get download` and unpacked with `dpkg-deb -x`
 *   (never installed: that would pull udev and initramfs-tools into the host). For QEMU. Virtio is modular there,
 *   so the initramfs carries the modules.
 * - `vmlinux`: an uncompressed kernel with virtio-mmio built in, from a path or an http(s) URL. For Firecracker.
 */
export type KernelSource = { kind: 'debian-cloud'; package?: string } | { kind: 'vmlinux'; from: string };

/** What `installKernel` leaves in `<dir>/<name>/`, recorded in manifest.json and `<dir>/current.json`. */
export interface InstalledKernel {
  name: string;
  /** Boot image: the uncompressed PVH vmlinux when it could be extracted (boots ~0.3 s faster), else vmlinuz. */
  kernel: string;
  /** An ELF vmlinux Firecracker can load, when there is one. */
  vmlinux: string | null;
  initramfs: string;
  modules: string[];
  /** Hash of the guest init, applets and module list the initramfs was built from; a new driver version rebuilds it. */
  initramfsKey?: string;
}

const MANIFEST = 'manifest.json';

/** The kernel `installKernel` installed last in `dir`, or null. Drivers read this at start. */
export async function currentKernel(dir: string): Promise<InstalledKernel | null> {
  const text = await readFile(join(dir, 'current.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  // current.json names the kernel; its manifest is the truth (and rebuilds a stale initramfs).
  return readManifest(join(dir, (JSON.parse(text) as InstalledKernel).name));
}

/**
 * Installs a guest kernel and builds its initramfs under `dir` (e.g. `<dataDir>/kernels`). Idempotent: a kernel
 * whose manifest exists is not fetched again. `shellwego kernel install` calls this.
 */
export async function installKernel(opts: {
  dir: string;
  source?: KernelSource;
  /** Look for a newer Debian kernel even when one is installed (asks apt-cache; without it, no network or apt). */
  refresh?: boolean;
}): Promise<InstalledKernel> {
  const source = opts.source ?? { kind: 'debian-cloud' };
  await mkdir(opts.dir, { recursive: true });
  if (source.kind === 'debian-cloud' && source.package === undefined && opts.refresh !== true) {
    const current = await currentKernel(opts.dir);
    if (current !== null && current.modules.length > 0) return current;
  }
  const installed =
    source.kind === 'debian-cloud'
      ? await installDebianCloud(opts.dir, source.package)
      : await installVmlinux(opts.dir, source.from);
  await writeFile(join(opts.dir, 'current.json.tmp'), JSON.stringify(installed, null, 2));
  await rename(join(opts.dir, 'current.json.tmp'), join(opts.dir, 'current.json'));
  return installed;
}

const initramfsKeyOf = (modules: readonly string[]): string =>
  createHash('sha256')
    .update(GUEST_INIT)
    .update(APPLETS.join(' '))
    .update(modules.join('\n'))
    .digest('hex')
    .slice(0, 16);

/** An installed kernel, with its initramfs rebuilt when the guest init changed since it was built. */
async function readManifest(dir: string): Promise<InstalledKernel | null> {
  const text = await readFile(join(dir, MANIFEST), 'utf8').catch(() => null);
  if (text === null) return null;
  const k = JSON.parse(text) as InstalledKernel;
  const key = initramfsKeyOf(k.modules);
  if (k.initramfsKey !== key || !(await stat(k.initramfs).catch(() => null))) {
    await buildInitramfs({ out: k.initramfs, modules: k.modules });
    k.initramfsKey = key;
    await writeFile(join(dir, MANIFEST), JSON.stringify(k, null, 2));
  }
  return k;
}

/** `linux-image-cloud-amd64` depends on exactly one versioned package: that is the current cloud kernel. */
async function currentCloudPackage(): Promise<string> {
  const out = await mustRun('apt-cache', ['depends', 'linux-image-cloud-amd64']);
  const pkg = /Depends:\s*(linux-image-\S+-cloud-amd64)/.exec(out)?.[1];
  if (pkg === undefined) {
    throw new Error('apt-cache knows no linux-image-cloud-amd64: run `apt-get update` or name the package');
  }
  return pkg;
}

async function installDebianCloud(dir: string, pkgName?: string): Promise<InstalledKernel> {
  const pkg = pkgName ?? (await currentCloudPackage());
  const version = pkg.replace(/^linux-image-/, '');
  const out = join(dir, version);
  const existing = await readManifest(out);
  if (existing !== null) return existing;

  // Staged in a unique dir and renamed into place whole: concurrent installs (two test workers, two agents) never
  // see a half-written kernel, and the loser of the rename just uses the winner's.
  const work = join(dir, `.work-${version}-${process.pid}-${Date.now()}`);
  const stage = join(work, 'out');
  await mkdir(join(work, 'deb'), { recursive: true });
  try {
    await mustRun('apt-get', ['download', pkg], { cwd: join(work, 'deb') });
    const deb = (await readdir(join(work, 'deb'))).find((f) => f.endsWith('.deb'));
    if (deb === undefined) throw new Error(`apt-get download ${pkg} produced no .deb`);
    await mustRun('dpkg-deb', ['-x', join(work, 'deb', deb), join(work, 'x')]);

    await mkdir(join(stage, 'modules'), { recursive: true });
    await copyFile(join(work, 'x', 'boot', `vmlinuz-${version}`), join(stage, 'vmlinuz'));
    const names: string[] = [];
    for (const ko of await resolveModules(
      join(work, 'x', 'lib', 'modules', version, 'kernel'),
      GUEST_MODULES,
    )) {
      const name = ko.split('/').pop() ?? ko;
      await copyFile(ko, join(stage, 'modules', name));
      names.push(name);
    }
    const hasVmlinux = await extractPvhVmlinux(join(stage, 'vmlinuz'), join(stage, 'vmlinux'));
    await buildInitramfs({
      out: join(stage, 'initramfs.cpio.gz'),
      modules: names.map((n) => join(stage, 'modules', n)),
    });
    const modules = names.map((n) => join(out, 'modules', n));
    const installed: InstalledKernel = {
      name: version,
      kernel: join(out, hasVmlinux ? 'vmlinux' : 'vmlinuz'),
      vmlinux: hasVmlinux ? join(out, 'vmlinux') : null,
      initramfs: join(out, 'initramfs.cpio.gz'),
      modules,
      initramfsKey: initramfsKeyOf(modules),
    };
    await writeFile(join(stage, MANIFEST), JSON.stringify(installed, null, 2));
    // A dir without a manifest is an interrupted older install; one with a manifest is a concurrent winner's.
    if ((await readManifest(out)) === null) await rm(out, { recursive: true, force: true });
    await rename(stage, out).catch(async (e: unknown) => {
      if ((await readManifest(out)) === null) throw e;
    });
    return (await readManifest(out)) ?? installed;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Debian's x86 bzImage wraps an LZ4 "legacy" frame holding the ELF vmlinux (with the Xen PVH note QEMU uses for
 * direct boot). lz4 stops with an error at the bzImage's trailing bytes, so success is judged by the ELF magic.
 */
async function extractPvhVmlinux(vmlinuz: string, out: string): Promise<boolean> {
  const image = await readFile(vmlinuz);
  const at = image.indexOf(Buffer.from([0x02, 0x21, 0x4c, 0x18]));
  if (at < 0) return false;
  const payload = `${out}.lz4`;
  await writeFile(payload, image.subarray(at));
  try {
    await runTool('/bin/sh', ['-c', 'lz4 -dcq "$1" > "$2" 2>/dev/null; true', 'swg-lz4', payload, out]);
    const head = await readFile(out).then((b) => b.subarray(0, 4));
    if (head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return true;
    await rm(out, { force: true });
    return false;
  } catch {
    await rm(out, { force: true });
    return false;
  } finally {
    await rm(payload, { force: true });
  }
}

/** An operator-provided vmlinux (Firecracker): copied or downloaded once, named after its content hash. */
async function installVmlinux(dir: string, from: string): Promise<InstalledKernel> {
  const tmp = join(dir, `.vmlinux-${process.pid}`);
  try {
    if (/^https?:\/\//.test(from)) {
      const res = await request(from, { maxRedirections: 5 } as Parameters<typeof request>[1]);
      if (res.statusCode !== 200) throw new Error(`GET ${from} answered ${res.statusCode}`);
      await writeFile(tmp, Buffer.from(await res.body.arrayBuffer()));
    } else {
      await copyFile(from, tmp);
    }
    const bytes = await readFile(tmp);
    if (!bytes.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
      throw new Error(`${from} is not an uncompressed ELF vmlinux (Firecracker cannot boot a bzImage)`);
    }
    const name = `vmlinux-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
    const out = join(dir, name);
    const existing = await readManifest(out);
    if (existing !== null) return existing;
    await mkdir(out, { recursive: true });
    await rename(tmp, join(out, 'vmlinux'));
    // Virtio is built into such kernels, so the initramfs carries init and busybox only.
    const initramfs = join(out, 'initramfs.cpio.gz');
    await buildInitramfs({ out: initramfs, modules: [] });
    const vmlinux = join(out, 'vmlinux');
    const installed: InstalledKernel = {
      name,
      kernel: vmlinux,
      vmlinux,
      initramfs,
      modules: [],
      initramfsKey: initramfsKeyOf([]),
    };
    await writeFile(join(out, MANIFEST), JSON.stringify(installed, null, 2));
    return installed;
  } finally {
    await rm(tmp, { force: true });
  }
}
