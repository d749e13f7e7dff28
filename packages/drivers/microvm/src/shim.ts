import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

/**
 * Starts the VMM under a tiny host shell that records its exit status in `exitFile`. The shell runs in its own
 * session (detached) with stdio on the log file, never a pipe, so the VM outlives an agent restart and the status
 * still appears when it ends while no agent is watching. Same pattern as the runc driver's shim.
 */
export async function spawnShim(opts: {
  command: readonly string[];
  pidFile: string;
  exitFile: string;
  logPath: string;
}): Promise<void> {
  const log = await open(opts.logPath, 'a', 0o640);
  try {
    // The VMM's PID is $! (nsenter and the jailer exec, so it is the VMM's own); `wait` yields 128+signal if killed.
    const script =
      'x=$1; p=$2; shift 2; "$@" & echo $! > "$p.tmp" && mv "$p.tmp" "$p"; wait $!; echo $? > "$x.tmp" && mv "$x.tmp" "$x"';
    const child = spawn(
      '/bin/sh',
      ['-c', script, 'swg-vm-shim', opts.exitFile, opts.pidFile, ...opts.command],
      {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
  } finally {
    await log.close();
  }
}
