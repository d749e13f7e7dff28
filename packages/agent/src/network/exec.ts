import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { PaasError } from '@shellwego/core';

const execFileAsync = promisify(execFile);

/** A network command that exited non-zero; `stderr` is kept so callers can tell "already gone" from real failures. */
export class CommandError extends PaasError {
  readonly command: string;
  readonly stderr: string;

  constructor(command: string, stderr: string, cause: unknown) {
    super('INTERNAL', `${command} failed: ${oneLine(stderr) || 'no output'}`, { cause });
    this.name = 'CommandError';
    this.command = command;
    this.stderr = stderr;
  }
}

/** Runs `cmd args…` without a shell and returns stdout; a non-zero exit becomes a CommandError naming the command. */
export async function run(cmd: string, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: timeoutMs, encoding: 'utf8' });
    return stdout;
  } catch (e) {
    const stderr = (e as { stderr?: unknown }).stderr;
    const text =
      typeof stderr === 'string' && stderr !== '' ? stderr : e instanceof Error ? e.message : String(e);
    throw new CommandError([cmd, ...args].join(' '), text, e);
  }
}

/**
 * Runs several `ip` commands in one process (`ip [-n ns] -batch -`, one command per line on stdin): an instance's
 * attach is 7 commands, and at ~15–60 ms per process start on a busy node that was most of its start time. `ip`
 * stops at the first failing line and exits non-zero, naming the line.
 */
export async function ipBatch(commands: readonly (readonly string[])[], ns?: string): Promise<void> {
  const args = [...(ns === undefined ? [] : ['-n', ns]), '-batch', '-'];
  const input = commands.map((c) => c.join(' ')).join('\n') + '\n';
  const nsArgs = ns === undefined ? '' : `-n ${ns} `;
  /** The failing line as a plain `ip` command (what `Command failed -:N` points at), else the whole batch. */
  const shown = (stderr: string): string => {
    const line = Number(/Command failed -:(\d+)/.exec(stderr)?.[1] ?? 0);
    const failed = commands[line - 1];
    return failed === undefined
      ? `ip ${nsArgs}-batch (${commands.map((c) => c.join(' ')).join('; ')})`
      : `ip ${nsArgs}${failed.join(' ')}`;
  };
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(shown(''), e.message, e));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new CommandError(shown(stderr), stderr || `exited with ${code ?? signal}`, undefined));
    });
    child.stdin.end(input);
  });
}

/** `ip …`, the one tool the network layer drives. */
export function ip(...args: string[]): Promise<string> {
  return run('ip', args);
}

function oneLine(s: string): string {
  return s.trim().replace(/\s*\n\s*/g, '; ');
}
