import type { Io } from './io.js';

/**
 * Runs `work` with a spinner on stderr, only when stderr is a terminal: piped or redirected, a spinner
 * would only add lines to logs and to the one-line error contract.
 */
export async function withSpinner<T>(io: Io, text: string, work: () => Promise<T>): Promise<T> {
  // A terminal that reports no width (a bare pty) makes ora's line counting loop forever.
  const columns = (io.stderr as { columns?: number }).columns ?? 0;
  if (!io.stderr.isTTY || columns <= 0) return work();
  // Loaded only here: it is half of the CLI's start-up time, and most runs are not on a terminal.
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: io.stderr, discardStdin: false }).start();
  try {
    return await work();
  } finally {
    spinner.stop();
  }
}
