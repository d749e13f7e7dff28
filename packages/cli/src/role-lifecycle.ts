import { CliError } from './errors.js';
import type { Io } from './io.js';

/**
 * Resolves with why a long-running role (`up`, `server`, `agent`, `edge`) should stop: SIGINT, SIGTERM, or, under
 * `shellwego up` (SHELLWEGO_PARENT_PID), its parent gone — a parent killed outright cannot forward a signal.
 */
export function stopRequested(io: Io): Promise<NodeJS.Signals | 'parent gone'> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    const parent = Number(io.env.SHELLWEGO_PARENT_PID ?? '');
    if (parent > 0) setInterval(() => process.ppid !== parent && resolve('parent gone'), 1000).unref();
  });
}

/**
 * Runs the role's shutdown, giving up after `timeoutMs` or at a second signal, so a hung connection never keeps
 * the process up; a shutdown cut short is the one-line SHUTDOWN_FORCED error.
 */
export async function stopWithin(timeoutMs: number, shutdown: () => Promise<unknown>): Promise<void> {
  const forced = new Promise<string>((resolve) => {
    setTimeout(() => resolve(`did not stop within ${timeoutMs / 1000} s`), timeoutMs).unref();
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(`${s} again`));
  });
  const stopped = await Promise.race([shutdown().then(() => null), forced]);
  if (stopped !== null) throw new CliError('SHUTDOWN_FORCED', `stopped before closing cleanly: ${stopped}`);
}
