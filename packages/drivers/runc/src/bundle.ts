import { chmod, mkdir, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceSpec } from '@shellwego/driver-sdk';
import { runTool } from './run-tool.js';

/** Where one instance's files live under spec.stateDir. */
export interface InstancePaths {
  instanceDir: string;
  /** A tmpfs: config.json carries the secrets as env, so the whole bundle must be memory-backed. */
  bundleDir: string;
  /** The overlay the container runs on; beside the bundle, so it can be mounted before the tmpfs is filled. */
  rootfs: string;
  /** Where earlier versions of this driver mounted the overlay (in the bundle); unmounted too, for their instances. */
  legacyRootfs: string;
  secretsDir: string;
  pidFile: string;
  upperDir: string;
  workDir: string;
  /** Written by the shim with runc's exit status (the container's, or 128+signal). */
  exitFile: string;
  resultFile: string;
}

export function instancePaths(instanceDir: string): InstancePaths {
  const bundleDir = join(instanceDir, 'bundle');
  return {
    instanceDir,
    bundleDir,
    rootfs: join(instanceDir, 'rootfs'),
    legacyRootfs: join(bundleDir, 'rootfs'),
    secretsDir: join(bundleDir, 'secrets'),
    pidFile: join(bundleDir, 'pid'),
    upperDir: join(instanceDir, 'upper'),
    workDir: join(instanceDir, 'work'),
    exitFile: join(instanceDir, 'exit'),
    resultFile: join(instanceDir, 'result.json'),
  };
}

async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/mounts', 'utf8');
  // /proc/mounts escapes spaces and the like as octal (\040).
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return new Set(text.split('\n').map((l) => unescape(l.split(' ')[1] ?? '')));
}

const TMPFS_MAGIC = 0x01021994;

/**
 * Makes the bundle's directories and returns the two mounts it needs, as `mount` arguments, in order: a tmpfs for the
 * bundle, then the overlay rootfs over the shared read-only image tree. The shim runs them (one process each instead
 * of one spawned from here each); fillBundle then writes into the tmpfs.
 */
export async function prepareBundle(paths: InstancePaths, spec: InstanceSpec): Promise<string[][]> {
  // overlayfs splits its options on ',' and ':'; such paths would silently mean something else.
  for (const p of [spec.rootfs, paths.upperDir, paths.workDir]) {
    if (/[,:]/.test(p))
      throw new Error(`path ${p} contains ',' or ':', which overlayfs options cannot carry`);
  }
  await mkdir(paths.upperDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.workDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.bundleDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.rootfs, { recursive: true, mode: 0o755 });
  return [
    ['-t', 'tmpfs', '-o', 'mode=0700,size=4m,nodev,nosuid', 'swg-bundle', paths.bundleDir],
    // The lower layer is never written: instances of one image share it, each writes to its own upper dir.
    [
      '-t',
      'overlay',
      '-o',
      `lowerdir=${spec.rootfs},upperdir=${paths.upperDir},workdir=${paths.workDir}`,
      'swg-overlay',
      paths.rootfs,
    ],
  ];
}

/** Writes secrets and config.json into the bundle, once its tmpfs is mounted; refuses if it is not a tmpfs. */
export async function fillBundle(
  paths: InstancePaths,
  spec: InstanceSpec,
  config: Record<string, unknown>,
): Promise<void> {
  // config.json carries the secrets as env: never onto the disk below a mount that is missing.
  if ((await statfs(paths.bundleDir)).type !== TMPFS_MAGIC)
    throw new Error(`${paths.bundleDir} is not a tmpfs; refusing to write secrets there`);
  await mkdir(paths.secretsDir, { mode: 0o700 });
  await chmod(paths.secretsDir, 0o700);
  for (const [name, value] of Object.entries(spec.secrets)) {
    await writeFile(join(paths.secretsDir, name), value, { mode: 0o600 });
  }
  await writeFile(join(paths.bundleDir, 'config.json'), JSON.stringify(config), { mode: 0o600 });
}

/** Unmounts overlay and tmpfs and removes the writable layer. Idempotent: anything already gone is skipped. */
export async function removeBundle(paths: InstancePaths): Promise<void> {
  for (const target of [paths.legacyRootfs, paths.rootfs, paths.bundleDir]) {
    if (!(await mountPoints()).has(target)) continue;
    const r = await runTool('umount', [target]);
    // A process still holding the mount (e.g. a straggling exec) would keep it forever; detach instead.
    if (r.code !== 0) {
      const lazy = await runTool('umount', ['-l', target]);
      if (lazy.code !== 0) throw new Error(`umount ${target} failed: ${lazy.stderr.trim()}`);
    }
  }
  await rm(paths.bundleDir, { recursive: true, force: true });
  // Only the empty mount point: were the overlay somehow still there, this fails rather than delete through it.
  await rmdir(paths.rootfs).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  });
  await rm(paths.upperDir, { recursive: true, force: true });
  await rm(paths.workDir, { recursive: true, force: true });
}
