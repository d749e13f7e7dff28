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
  /** Commands that exec the shim while holding a resource (volume flocks), e.g. from volumes.ts lockPrefix. */
  prefix?: readonly string[];
}): Promise<{ exitCode(): number | null }> {
  const log = await open(opts.logPath, 'a', 0o640);
  try {
    // The VMM's PID is $! (nsenter and the jailer exec, so it is the VMM's own); `wait` yields 128+signal if killed.
    const script =
      'x=$1; p=$2; shift 2; "$@" & echo $! > "$p.tmp" && mv "$p.tmp" "$p"; wait $!; echo $? > "$x.tmp" && mv "$x.tmp" "$x"';
    const [cmd = '/bin/sh', ...args] = [
      ...(opts.prefix ?? []),
      '/bin/sh',
      '-c',
      script,
      'swg-vm-shim',
      opts.exitFile,
      opts.pidFile,
      ...opts.command,
    ];
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    // The shim's own exit code: only a prefix failing (a volume lock taken) ends it before the VMM's pid appears.
    return { exitCode: () => child.exitCode };
  } finally {
    await log.close();
  }
}
