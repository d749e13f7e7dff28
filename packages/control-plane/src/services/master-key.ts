import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseMasterKey } from './envelope.js';

export const MASTER_KEY_FILE = 'master.key';

/**
 * The master key: SHELLWEGO_MASTER_KEY when given, else `<data dir>/master.key`, created on first
 * start with mode 0600 (and kept at 0600 if someone loosened it).
 */
export function loadMasterKey(dataDir: string, fromEnv: string | undefined): { key: Buffer; source: string } {
  if (fromEnv !== undefined && fromEnv !== '') return { key: parseMasterKey(fromEnv), source: 'environment' };
  const path = join(dataDir, MASTER_KEY_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return { key: parseMasterKey(readFileSync(path, 'utf8')), source: path };
}
