#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node
// The shebang caps glibc's mmap threshold: without it, each worker thread that hashes a password
// (scrypt, 16 MiB) keeps that memory in its malloc arena for good, and a server grows by about
// 16 MiB per libuv thread after a few logins. Large allocations are then mmapped and returned.
import { homedir } from 'node:os';
import { wasmEntry } from '@shellwego/driver-wasm';
import { describeError } from './errors.js';
import type { Io } from './io.js';
import { run } from './program.js';

// The same file is the wasm runtime's host process and its worker threads (the CLI ships as one bundle).
if (!(await wasmEntry(process.argv.slice(2)))) await main();

async function main(): Promise<void> {
  // The only place that reads the process's environment and streams (STYLE.md §7).
  const io: Io = {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    home: process.env.HOME || homedir(),
    isRoot: process.getuid?.() === 0,
    ...(process.argv[1] === undefined ? {} : { script: process.argv[1] }),
  };

  // Last resort: a bug that escapes run() still prints one line, never a stack (unless SHELLWEGO_DEBUG).
  const crash = (e: unknown): void => {
    process.stderr.write(`${describeError(e, Boolean(process.env.SHELLWEGO_DEBUG)).line}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  const code = await run(process.argv.slice(2), io);
  process.exitCode = code;
  // Leave when the work is done even if an idle keep-alive socket or timer lingers; unref'd, so a clean
  // exit does not wait for it.
  setTimeout(() => process.exit(code), 2000).unref();
}
