import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

// Harnesses pair temporary directories with exit cleanup, so both are reachable from here.
export { onExitCleanup } from './exit-cleanup.js';

/** A new empty directory under os.tmpdir() (mode 0700), e.g. makeTempDir('pg-') -> /tmp/pg-Ab12Cd. */
export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** rm -rf, tolerating a directory that is already gone. */
export async function removeDir(dir: string): Promise<void> {
  // Guard against a bug upstream turning this into `rm -rf /` or a path relative to wherever we run.
  if (!isAbsolute(dir) || dirname(dir) === dir) throw new Error(`removeDir: refusing to remove ${dir}`);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
