import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Io } from './io.js';
import { CliError } from './errors.js';

/** What `shellwego login` remembers: the server and the session's tokens. */
export interface SavedSession {
  url: string;
  access_token: string;
  refresh_token: string;
}

/** `$XDG_CONFIG_HOME/shellwego/config.json`, by default under ~/.config. */
export function configPath(io: Io): string {
  const base = io.env.XDG_CONFIG_HOME || join(io.home, '.config');
  return join(base, 'shellwego', 'config.json');
}

export async function readSession(path: string): Promise<SavedSession | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const s = parsed as Partial<Record<keyof SavedSession, unknown>> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.url !== 'string' ||
    typeof s.access_token !== 'string' ||
    typeof s.refresh_token !== 'string'
  ) {
    throw new CliError('CONFIG_INVALID', `${path} is not a saved session`, {
      hint: 'run `shellwego login` again to replace it',
    });
  }
  return { url: s.url, access_token: s.access_token, refresh_token: s.refresh_token };
}

/** Writes the file readable by its owner only (0600, directory 0700), replacing it atomically. */
export async function writeSession(path: string, session: SavedSession): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; the tokens inside must not be listable by others.
  await chmod(dir, 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function removeSession(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
