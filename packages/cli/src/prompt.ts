import { createInterface } from 'node:readline/promises';
import { CliError } from './errors.js';
import type { Io } from './io.js';

/** All of stdin, for passwords and secret values piped in. */
export async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** `echo value | shellwego …` adds a newline that is not part of the value. */
export function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed (for passwords). */
export async function promptHidden(io: Io, question: string): Promise<string> {
  const { stdin } = io;
  if (!stdin.setRawMode) throw new CliError('NO_TERMINAL', 'cannot prompt: stdin is not a terminal');
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string): void => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            stdin.off('data', onData);
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new CliError('INTERRUPTED', 'interrupted', { exitCode: 130 }));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}

/** A y/N question on the terminal; anything but y/yes is no. */
export async function confirm(io: Io, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * Whether to go on deleting `key` (a `kind`): at once with --yes; else the person at the terminal is asked, after
 * `question()` looked it up (so a typo says "not found" rather than asks about something that is not there).
 * Without --yes and without a terminal there is nobody to ask: refused.
 */
export async function confirmDeletion(
  io: Io,
  opts: { yes: boolean | undefined; kind: string; key: string; question: () => Promise<string> },
): Promise<boolean> {
  if (opts.yes) return true;
  if (!io.stdin.isTTY) {
    throw new CliError('CONFIRMATION_REQUIRED', `refusing to delete ${opts.kind} ${opts.key} without --yes`, {
      hint: 'stdin is not a terminal, so there is nobody to ask',
    });
  }
  return confirm(io, await opts.question());
}
