import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GUEST_INIT } from './guest-init.js';
import { mustRun } from './run-tool.js';

/**
 * Drivers the guest init loads; their dependencies are added from each module's .modinfo. ext4 (root and volumes)
 * is built into Debian's cloud kernel, so it resolves to nothing there; listed for kernels that ship it as a module.
 */
export const GUEST_MODULES = [
  'virtio_mmio',
  'virtio_pci',
  'virtio_blk',
  'virtio_net',
  'virtio_console',
  'virtio-rng',
  'ext4',
] as const;

/** Busybox applets the guest init uses (part of the initramfs key in kernel.ts). */
export const APPLETS = [
  'sh',
  'mount',
  'umount',
  'mkdir',
  'cat',
  'echo',
  'insmod',
  'poweroff',
  'sleep',
  'ls',
  'ip',
  'tar',
  'cp',
  'rm',
  'chmod',
  'chown',
  'chroot',
  'hostname',
  'ping',
  'kill',
  'sync',
  'find',
  'cut',
  'dd',
  'hexdump',
  'touch',
];

const norm = (name: string): string => name.replace(/-/g, '_');

/** `depends=a,b` from the module's .modinfo section: enough to order insmod calls without depmod. */
function dependsOf(ko: Buffer): string[] {
  const m = /depends=([^\0]*)\0/.exec(ko.toString('latin1'));
  return m?.[1] ? m[1].split(',').filter(Boolean) : [];
}

async function indexModules(dir: string): Promise<Map<string, string>> {
  const byName = new Map<string, string>();
  for (const rel of await readdir(dir, { recursive: true })) {
    if (rel.endsWith('.ko')) byName.set(norm(basename(rel, '.ko')), join(dir, rel));
  }
  return byName;
}

/**
 * The wanted modules plus their dependencies, dependencies first. Modules the kernel lacks (or has built in) are
 * skipped.
 */
export async function resolveModules(moduleDir: string, wanted: readonly string[]): Promise<string[]> {
  const index = await indexModules(moduleDir);
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    const key = norm(name);
    if (seen.has(key)) return;
    seen.add(key);
    const path = index.get(key);
    if (path === undefined) return;
    for (const dep of dependsOf(await readFile(path))) await visit(dep);
    ordered.push(path);
  };
  for (const w of wanted) await visit(w);
  return ordered;
}

/**
 * Builds a gzip'd newc cpio: static busybox with the applets init uses, the given .ko files in load order and
 * GUEST_INIT as /init. Staged in a temp dir next to `out` and written atomically.
 */
export async function buildInitramfs(opts: {
  out: string;
  modules: readonly string[];
  busybox?: string;
}): Promise<void> {
  const stage = await mkdtemp(`${opts.out}.stage-`);
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'run', 'newroot', 'lib/modules']) {
      await mkdir(join(stage, d), { recursive: true });
    }
    await copyFile(opts.busybox ?? '/bin/busybox', join(stage, 'bin', 'busybox'));
    for (const a of APPLETS) await symlink('busybox', join(stage, 'bin', a));
    const names: string[] = [];
    for (const ko of opts.modules) {
      const name = basename(ko, '.ko');
      await copyFile(ko, join(stage, 'lib', 'modules', `${name}.ko`));
      names.push(name);
    }
    await writeFile(join(stage, 'lib', 'modules', 'order'), names.map((n) => `${n}\n`).join(''));
    await writeFile(join(stage, 'init'), GUEST_INIT);
    await chmod(join(stage, 'init'), 0o755);
    // Unique, so two agents (or test workers) rebuilding at once never interleave; the last rename wins.
    const tmp = `${stage}.cpio.gz`;
    await mustRun('/bin/sh', [
      '-c',
      'cd "$1" && find . -print0 | cpio --null -o -H newc --quiet --owner=0:0 | gzip -6 > "$2" && mv "$2" "$3"',
      'swg-initramfs',
      stage,
      tmp,
      opts.out,
    ]);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
