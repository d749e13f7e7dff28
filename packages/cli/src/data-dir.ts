import { join } from 'node:path';
import type { Io } from './io.js';

/** SHELLWEGO_DATA_DIR, else /var/lib/shellwego as root, else ~/.local/share/shellwego (ARCHITECTURE.md). */
export function defaultDataDir(io: Io): string {
  if (io.env.SHELLWEGO_DATA_DIR) return io.env.SHELLWEGO_DATA_DIR;
  if (io.isRoot) return '/var/lib/shellwego';
  return join(io.env.XDG_DATA_HOME || join(io.home, '.local', 'share'), 'shellwego');
}
