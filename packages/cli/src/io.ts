import type { Readable, Writable } from 'node:stream';

/** A stream that may be a terminal (process.stdin/stdout/stderr are). */
export type MaybeTty<T> = T & { isTTY?: boolean };

/**
 * Everything a command may touch outside itself, gathered once by main.ts: the environment, the standard
 * streams and who we run as. Nothing below main.ts reads process.env (STYLE.md §7).
 */
export interface Io {
  env: Readonly<Record<string, string | undefined>>;
  stdin: MaybeTty<Readable> & { setRawMode?: (raw: boolean) => unknown };
  stdout: MaybeTty<Writable>;
  stderr: MaybeTty<Writable>;
  /** The home directory (HOME, else the account's). */
  home: string;
  /** Running as root changes default paths (the data dir). */
  isRoot: boolean;
  /** This program's file (the bundle), which the agent runs again as the wasm host; absent in tests in-process. */
  script?: string;
}

export function out(io: Io, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Progress and notes for a person go to stderr, so stdout stays clean for pipes. */
export function note(io: Io, text: string): void {
  io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
