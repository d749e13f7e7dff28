import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

/**
 * Starts `runc run --keep` in the foreground under a tiny host shell that records runc's exit status in a file.
 * `runc run -d` would hand the container to the nearest subreaper and its exit code would be lost; here runc stays
 * the container's parent and exits with its status (128+signal when killed). The shell runs in its own session
 * (detached), so it and the container outlive an agent restart, and the status file still appears afterwards.
 */
export async function spawnShim(opts: {
  runc: string;
  runcRoot: string;
  bundleDir: string;
  pidFile: string;
  containerId: string;
  exitFile: string;
  logPath: string;
}): Promise<void> {
  const log = await open(opts.logPath, 'a', 0o640);
  try {
    const script =
      '"$1" --root "$2" run --keep -b "$3" --pid-file "$4" "$5"; echo $? > "$6.tmp" && mv "$6.tmp" "$6"';
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        script,
        'swg-runc-shim',
        opts.runc,
        opts.runcRoot,
        opts.bundleDir,
        opts.pidFile,
        opts.containerId,
        opts.exitFile,
      ],
      // stdio to the log file, never a pipe: the container inherits these fds for its whole life.
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
    // The child has its own copy of the fd.
    await log.close();
  }
}
