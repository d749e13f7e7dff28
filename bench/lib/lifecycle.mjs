// What every bench shares: integer knobs from the environment, and child processes and temporary
// directories that are cleaned up on every way out (normal end, error, Ctrl-C).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** A positive integer from the environment, or `fallback`; exits 2 on anything else. */
export function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: ${name} must be a positive integer (got ${raw})`);
    process.exit(2);
  }
  return n;
}

/** Children to kill and directories to remove when the bench ends, however it ends. */
export const children = new Set();
export const tempDirs = new Set();

export function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, cleaning up`);
    cleanup();
    process.exit(130);
  });
}

export function makeTempDir(prefix = 'swg-bench-') {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Prints how to build and returns false when one of the built files (`paths`, from the root) is missing. */
export function requireBuilt(root, paths, benchCommand) {
  const missing = paths.filter((p) => !existsSync(join(root, p)));
  if (missing.length === 0) return true;
  console.error(
    `bench: the built packages are missing (${missing.join(', ')}).\n` +
      `The bench runs the compiled packages: run \`npm run build\` first, then \`${benchCommand}\`.`,
  );
  return false;
}
