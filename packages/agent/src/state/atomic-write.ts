import { open as openFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `content` to `file` so a crash leaves either the old or the new file, never half of one: temp file, fsync,
 * rename, fsync of the directory (the rename is durable only once the directory entry is on disk).
 */
export async function writeAtomically(file: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    const handle = await openFile(tmp, 'w', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const dir = await openFile(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
