import { parseArgs } from 'node:util';
import { hostOptionsSchema, type HostOptions } from './protocol.js';

// The host's command line: `__wasm-host --state-dir ... --max-workers ...`. Secrets never travel this way.

/** Parses the host's flags; fails naming the flag that is missing or wrong. */
export function parseHostArgs(argv: readonly string[]): HostOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'state-dir': { type: 'string' },
      'max-workers': { type: 'string' },
      'max-concurrent-per-instance': { type: 'string' },
      'idle-exit-ms': { type: 'string' },
      'entry-script': { type: 'string' },
      'entry-args': { type: 'string' },
    },
    strict: true,
  });
  return hostOptionsSchema.parse({
    stateDir: values['state-dir'],
    maxWorkers: Number(values['max-workers']),
    maxConcurrentPerInstance: Number(values['max-concurrent-per-instance']),
    idleExitMs: Number(values['idle-exit-ms']),
    entryScript: values['entry-script'],
    entryArgs: JSON.parse(values['entry-args'] ?? '[]') as unknown,
  });
}

export function hostArgs(o: HostOptions): string[] {
  return [
    '--state-dir',
    o.stateDir,
    '--max-workers',
    String(o.maxWorkers),
    '--max-concurrent-per-instance',
    String(o.maxConcurrentPerInstance),
    '--idle-exit-ms',
    String(o.idleExitMs),
    '--entry-script',
    o.entryScript,
    '--entry-args',
    JSON.stringify(o.entryArgs),
  ];
}
