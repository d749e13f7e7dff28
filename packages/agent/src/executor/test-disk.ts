// Test-only: looks for a value in every file on disk under a directory.
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Files under `dir` whose bytes contain `needle`. Other filesystems mounted below (a tmpfs, an overlay) are not
 * descended into, as `find -xdev`: what lives there is in memory or seen through another mount, not on this disk.
 */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const root = await lstat(dir);
  const wanted = Buffer.from(needle);
  const found: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path).catch(() => undefined);
    if (st === undefined || st.dev !== root.dev) return;
    if (st.isDirectory()) {
      for (const name of await readdir(path).catch(() => [] as string[])) await walk(join(path, name));
    } else if (st.isFile()) {
      const bytes = await readFile(path).catch(() => undefined);
      if (bytes?.includes(wanted)) found.push(path);
    }
  };
  await walk(dir);
  return found;
}
