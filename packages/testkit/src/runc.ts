import { execSync } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onExitCleanup } from './exit-cleanup.js';

const defaultApplets = ['sh', 'echo', 'sleep', 'httpd', 'cat', 'env', 'head', 'tr'];

/**
 * A minimal image tree for container tests: /bin/busybox (static, from Debian's busybox-static) plus
 * relative applet links (absolute ones would point outside the image), and any extra files.
 */
export async function buildBusyboxRootfs(
  dir: string,
  opts: { applets?: readonly string[]; files?: Record<string, string> } = {},
): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  for (const a of opts.applets ?? defaultApplets) await symlink('busybox', join(dir, 'bin', a));
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'run']) await mkdir(join(dir, d), { recursive: true });
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** Mount points at or below `dir`, as /proc/mounts lists them. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/mounts', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(dir));
}

/**
 * If the run dies: force-delete every container under `runcRoot`, unmount what is under `dir`, remove
 * `dir`. Synchronous, because nothing asynchronous runs at exit. Returns the function that cancels it.
 */
export function registerRuncExitCleanup(dir: string, runcRoot: string): () => void {
  return onExitCleanup(() => {
    for (const cmd of [
      `for c in $(runc --root ${runcRoot} list -q 2>/dev/null); do runc --root ${runcRoot} delete --force $c; done`,
      `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`,
      `rm -rf ${dir}`,
    ]) {
      try {
        execSync(cmd, { stdio: 'ignore', shell: '/bin/sh' });
      } catch {
        // best effort: one failure must not stop the rest
      }
    }
  });
}
