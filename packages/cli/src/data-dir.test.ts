import { describe, expect, it } from 'vitest';
import { defaultDataDir } from './data-dir.js';
import type { Io } from './io.js';

function io(env: Record<string, string>, isRoot: boolean): Io {
  return {
    env,
    isRoot,
    home: '/home/ada',
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

describe('defaultDataDir', () => {
  it('prefers SHELLWEGO_DATA_DIR, then /var/lib as root, then the user data dir', () => {
    expect(defaultDataDir(io({ SHELLWEGO_DATA_DIR: '/srv/swg' }, true))).toBe('/srv/swg');
    expect(defaultDataDir(io({}, true))).toBe('/var/lib/shellwego');
    expect(defaultDataDir(io({}, false))).toBe('/home/ada/.local/share/shellwego');
    expect(defaultDataDir(io({ XDG_DATA_HOME: '/data' }, false))).toBe('/data/shellwego');
  });
});
