import { execFile } from 'node:child_process';
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

/** `ip …`, the one tool the network layer drives. */
export function ip(...args: string[]): Promise<string> {
  return run('ip', args);
}

function oneLine(s: string): string {
  return s.trim().replace(/\s*\n\s*/g, '; ');
}
