import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { InstanceLog, parseLogLine, readLogLines } from './logs.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('swg-wasm-logs-');
});
afterAll(async () => {
  await removeDir(dir);
});

const read = async (path: string, since?: Date): Promise<string[]> => {
  const lines: string[] = [];
  for await (const l of readLogLines(path, { follow: false, since, signal: new AbortController().signal }))
    lines.push(`${l.stream}:${l.line}`);
  return lines;
};

describe('instance logs', () => {
  it('round-trips lines with their stream and time', async () => {
    const path = join(dir, 'a.wasm.log');
    const log = new InstanceLog(path);
    log.write('stdout', 'one', new Date('2026-01-01T00:00:00Z'));
    log.write('stderr', 'two\r\nthree\n', new Date('2026-01-01T00:00:01Z'));
    await log.flush();
    expect(await read(path)).toEqual(['stdout:one', 'stderr:two', 'stderr:three']);
    expect(await read(path, new Date('2026-01-01T00:00:01Z'))).toEqual(['stderr:two', 'stderr:three']);
    expect(parseLogLine('2026-01-01T00:00:00.000Z stderr a b ')).toEqual({
      at: new Date('2026-01-01T00:00:00Z'),
      stream: 'stderr',
      line: 'a b ',
    });
  });

  it('follows new lines until aborted', async () => {
    const path = join(dir, 'b.wasm.log');
    const log = new InstanceLog(path);
    const ac = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const l of readLogLines(path, { follow: true, signal: ac.signal })) {
        seen.push(l.line);
        if (seen.length === 2) ac.abort();
      }
    })();
    log.write('stdout', 'first');
    await log.flush();
    setTimeout(() => log.write('stdout', 'second'), 100);
    await reading;
    expect(seen).toEqual(['first', 'second']);
  });
});
