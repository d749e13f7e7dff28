import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildSpec {
  /** For logs: `agent`, `edge`. */
  name: string;
  args: string[];
  /** Extra environment (credentials go here, never on the command line where `ps` shows them). */
  env?: Record<string, string>;
}

export interface SupervisorEvents {
  onStart?(name: string, pid: number): void;
  onExit?(name: string, code: number | null, signal: NodeJS.Signals | null, restartInMs: number | null): void;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** A child that ran this long before it died was healthy: its next restart is immediate again. */
const STABLE_MS = 10_000;

/**
 * Keeps the roles `shellwego up` runs beside the control plane (agent, edge) alive as child processes of this
 * one: a child that dies (even by SIGKILL) is started again with exponential backoff. Separate processes, so that
 * killing or upgrading one role leaves the others serving. No library does "restart this Node child with backoff"
 * without pulling in a process manager daemon, so it is written here.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(
    private readonly command: { execPath: string; script: string },
    private readonly events: SupervisorEvents = {},
  ) {}

  start(spec: ChildSpec, backoffMs = MIN_BACKOFF_MS): void {
    if (this.stopping) return;
    const startedAt = Date.now();
    const child = spawn(this.command.execPath, [this.command.script, ...spec.args], {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.children.set(spec.name, child);
    if (child.pid !== undefined) this.events.onStart?.(spec.name, child.pid);
    child.once('exit', (code, signal) => {
      this.children.delete(spec.name);
      if (this.stopping) return this.events.onExit?.(spec.name, code, signal, null);
      const next =
        Date.now() - startedAt > STABLE_MS ? MIN_BACKOFF_MS : Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      const wait = Date.now() - startedAt > STABLE_MS ? 0 : backoffMs;
      this.events.onExit?.(spec.name, code, signal, wait);
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.start(spec, next);
      }, wait);
      this.timers.add(t);
    });
    child.once('error', () => undefined);
  }

  /** Sends a signal to a running child (e.g. SIGHUP to the edge, which then reloads); false when it is not running. */
  signal(name: string, signal: NodeJS.Signals): boolean {
    return this.children.get(name)?.kill(signal) ?? false;
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.pid;
  }

  /** SIGTERM to every child, SIGKILL to those still there after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    const exits = [...this.children.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
          kill.unref();
          c.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }
}
