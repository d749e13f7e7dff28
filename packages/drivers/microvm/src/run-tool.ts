import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short-lived host tool (ip, mkfs.ext4, qemu-img, apt-get) and collects its output. Pipes are safe here
 * because none of these tools leaves a child behind holding them; QEMU itself is started by the shim with files.
 */
export async function runTool(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; input?: Buffer } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like runTool, but a non-zero exit becomes an Error naming the command and its stderr. */
export async function mustRun(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; input?: Buffer } = {},
): Promise<string> {
  const r = await runTool(cmd, args, opts).catch((e: unknown) => {
    throw new Error(`${cmd} could not be started: ${(e as Error).message}`, { cause: e });
  });
  if (r.code !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim()).slice(-800) || `exit code ${String(r.code)}`;
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed: ${why}`);
  }
  return r.stdout;
}
