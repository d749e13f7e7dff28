import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a host tool (runc, mount, umount) and awaits its exit. Output goes to files, never pipes: a container started
 * by runc inherits runc's stdio, and a pipe held open by it would keep us waiting forever (TESTING.md §6).
 */
export async function runTool(cmd: string, args: readonly string[]): Promise<ToolResult> {
  const base = join(tmpdir(), `swg-tool-${randomUUID()}`);
  const out = await open(`${base}.out`, 'w', 0o600);
  const err = await open(`${base}.err`, 'w', 0o600);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(cmd, args, {
        stdio: ['ignore', out.fd, err.fd],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    const [stdout, stderr] = await Promise.all([
      readFile(`${base}.out`, 'utf8'),
      readFile(`${base}.err`, 'utf8'),
    ]);
    return { code, stdout, stderr };
  } finally {
    await out.close();
    await err.close();
    await rm(`${base}.out`, { force: true });
    await rm(`${base}.err`, { force: true });
  }
}
