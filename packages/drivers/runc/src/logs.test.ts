import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogLines, rotateIfLarge } from './logs.js';

describe('logs', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir('swg-logs-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('rotates a file over the size limit to .1', async () => {
    const p = join(dir, 'a.log');
    await writeFile(p, 'x'.repeat(100));
    await rotateIfLarge(p, 50);
    expect(await readFile(`${p}.1`, 'utf8')).toHaveLength(100);
    await expect(stat(p)).rejects.toThrow();
  });

  it('follows appended lines until aborted', async () => {
    const p = join(dir, 'b.log');
    await writeFile(p, 'one\n');
    const ac = new AbortController();
    const seen: string[] = [];
    setTimeout(() => void writeFile(p, 'one\ntwo\n'), 250);
    setTimeout(() => ac.abort(), 800);
    for await (const l of readLogLines(p, { follow: true, signal: ac.signal })) seen.push(l.line);
    expect(seen).toEqual(['one', 'two']);
  });
});
