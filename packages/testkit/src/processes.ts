import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends `signal`, escalates to SIGKILL after `graceMs`, and resolves once the child has exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  // A child that never spawned (pid undefined) emits no 'exit': waiting for it would hang.
  if (child.pid === undefined || hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Synchronous version for exit hooks, where nothing asynchronous runs any more: signal, poll until the process
 * is gone, SIGKILL if it outlives `graceMs`. Best effort, never throws.
 */
export function terminateSync(pid: number, signal: NodeJS.Signals, graceMs: number): void {
  if (!signalSync(pid, signal)) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return;
    sleepSync(10);
  }
  signalSync(pid, 'SIGKILL');
}

function signalSync(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

// kill(pid, 0) succeeds on a zombie, and our own exited children stay zombies until the event loop reaps them,
// which it never does inside an exit hook. /proc tells the two apart.
function isRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Format: "pid (comm) S ...", where comm may itself contain spaces and parentheses.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
