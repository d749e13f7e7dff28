import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * Starts `runc run --keep` in the foreground under a tiny host shell that records runc's exit status in a file.
 * `runc run -d` would hand the container to the nearest subreaper and its exit code would be lost; here runc stays
 * the container's parent and exits with its status (128+signal when killed). The shell runs in its own session
 * (detached), so it and the container outlive an agent restart, and the status file still appears afterwards.
 *
 * The shell also runs the bundle's mounts first (a `mount` forked by the shell costs far less than one spawned from
 * Node), then says `ready` on fd 3 and waits for `go` on its stdin while `onMounted` fills the bundle; it closes
 * both pipes before runc starts, so the container never inherits them.
 *
 *   shell: mount… ──ready──▶ agent: onMounted() ──go──▶ shell: runc run … ; echo $? > exit
 *                 └─ mount failed / no go: the shell exits, runc never runs
 */
export async function spawnShim(opts: {
  runc: string;
  runcRoot: string;
  bundleDir: string;
  pidFile: string;
  containerId: string;
  exitFile: string;
  logPath: string;
  /** `mount` arguments, run in order before anything else; the first failure stops the shim. */
  mounts: readonly (readonly string[])[];
  /** Called once every mount is in place; runc runs only if it resolves. */
  onMounted: () => Promise<void>;
}): Promise<void> {
  let next = 7; // $1…$6 are the fixed arguments below
  const mountLines = opts.mounts.map((args) => {
    const refs = args.map(() => `"\${${String(next++)}}"`).join(' ');
    return `mount ${refs} 2>&3 || exit 97`;
  });
  const script = [
    ...mountLines,
    'echo ready >&3',
    'read go || exit 98',
    '[ "$go" = go ] || exit 98',
    'exec 0</dev/null 3>&-',
    '"$1" --root "$2" run --keep -b "$3" --pid-file "$4" "$5"; echo $? > "$6.tmp" && mv "$6.tmp" "$6"',
  ].join('\n');
  const log = await open(opts.logPath, 'a', 0o640);
  try {
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
        ...opts.mounts.flat(),
      ],
      // Output to the log file, never a pipe: the container inherits these fds for its whole life. The two control
      // pipes are closed by the shell before runc runs.
      {
        detached: true,
        stdio: ['pipe', log.fd, log.fd, 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      },
    );
    // stdio[3] is the 'pipe' asked for above, a readable stream on our side.
    const control = child.stdio[3] as Readable;
    const stdin = child.stdin;
    // A shell that already exited (a failed mount) closes its ends: EPIPE here is reported through `control`.
    stdin?.on('error', () => undefined);
    control.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        let said = '';
        child.once('error', reject);
        control.on('data', (chunk: Buffer) => {
          said += chunk.toString('utf8');
          if (said.endsWith('ready\n')) resolve();
        });
        control.once('close', () =>
          reject(new Error(`mounting the bundle failed: ${said.trim() || 'the shim exited'}`)),
        );
      });
      await opts.onMounted();
      stdin?.end('go\n');
    } catch (e) {
      // Without `go` the shell exits at once and runc never runs; the caller removes the mounts.
      stdin?.end();
      throw e;
    } finally {
      control.destroy();
      child.unref();
    }
  } finally {
    // The child has its own copy of the fd.
    await log.close();
  }
}
