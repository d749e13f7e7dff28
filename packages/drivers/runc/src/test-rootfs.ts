import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';

const applets = ['sh', 'echo', 'sleep', 'httpd', 'cat', 'env', 'head', 'tr'];

/** A minimal image tree: /bin/busybox plus relative applet links (absolute ones would point outside the image). */
export async function buildBusyboxRootfs(dir: string): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  for (const a of applets) await symlink('busybox', join(dir, 'bin', a));
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'run']) await mkdir(join(dir, d), { recursive: true });
  return dir;
}
