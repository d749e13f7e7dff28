import { runTool, type ToolResult } from './run-tool.js';

export type RuncStatus = 'created' | 'running' | 'paused' | 'stopped';

export interface RuncState {
  id: string;
  pid: number;
  status: RuncStatus;
  created: string;
}

/** A thin wrapper over the runc CLI for one `--root` state directory. */
export class RuncCli {
  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  run(args: readonly string[]): Promise<ToolResult> {
    return runTool(this.binary, ['--root', this.root, ...args]);
  }

  /** The container's state, or null when runc doesn't know it (never created, or deleted). */
  async state(id: string): Promise<RuncState | null> {
    const r = await this.run(['state', id]);
    if (r.code !== 0) {
      if (/does not exist|not exist/i.test(r.stderr)) return null;
      throw new Error(`runc state ${id} failed: ${r.stderr.trim()}`);
    }
    return JSON.parse(r.stdout) as RuncState;
  }

  async kill(id: string, signal: 'TERM' | 'KILL'): Promise<void> {
    // Fails harmlessly when the container is already stopped; the caller polls state for the outcome.
    await this.run(['kill', id, signal]);
  }

  async deleteForce(id: string): Promise<void> {
    const r = await this.run(['delete', '--force', id]);
    if (r.code !== 0 && !/does not exist|not exist/i.test(r.stderr)) {
      throw new Error(`runc delete ${id} failed: ${r.stderr.trim()}`);
    }
  }
}
