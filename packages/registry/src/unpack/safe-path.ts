import { lstat, mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from './image-error.js';

/** Linux's limit on symlinks followed in one lookup; more is a loop. */
const MAX_SYMLINK_HOPS = 40;

/**
 * Splits a tar entry name into path components. A leading `/` is dropped (Docker's behaviour for
 * absolute names); a `..` component is refused outright, even where it would stay inside.
 */
export function entryParts(name: string, entry: string = name): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    const what = name === entry ? `layer entry "${entry}"` : `layer entry "${entry}" (link to "${name}")`;
    throw new ImageError(
      'LAYER_UNSAFE',
      `${what} contains "..": refusing an entry that could escape the rootfs`,
      { entry },
    );
  }
  return parts;
}

export interface ResolveOptions {
  /** Create missing directories (mode 0755), reporting each through onCreate. */
  create: boolean;
  /**
   * What an absolute symlink means. `refuse`: while unpacking we write on the host, where `/etc` is
   * the host's, so never follow one. `scope`: read it as the container would (chroot semantics).
   */
  absolute: 'refuse' | 'scope';
  /** The entry being applied, for error messages. */
  entry: string;
  onCreate?: (abs: string) => void;
  /**
   * Directories already resolved in this unpack, by their path as the archive names them. Whoever
   * removes, replaces or symlinks anything in the tree must clear it (apply-layer.ts does); until
   * then a resolved directory stays a real directory inside the root, so the lstat walk is skipped.
   */
  cache?: Map<string, string>;
}

/**
 * Resolves a directory path inside `root` component by component, following symlinks only while
 * they stay inside `root`. Returns the real absolute path, or undefined if it is missing and
 * `create` is false. This is the guard against writing through a symlink placed by an earlier
 * entry or layer (`evil -> /etc`, then `evil/passwd`).
 */
export async function resolveDirInRoot(
  root: string,
  parts: readonly string[],
  opts: ResolveOptions,
): Promise<string | undefined> {
  const key = parts.join('/');
  const cached = opts.cache?.get(key);
  if (cached !== undefined) return cached;
  const resolvedPath = await walk(root, parts, opts);
  if (resolvedPath !== undefined) opts.cache?.set(key, resolvedPath);
  return resolvedPath;
}

async function walk(
  root: string,
  parts: readonly string[],
  opts: ResolveOptions,
): Promise<string | undefined> {
  const pending = [...parts];
  let resolved: string[] = [];
  let hops = 0;
  const unsafe = (why: string): ImageError =>
    new ImageError(
      'LAYER_UNSAFE',
      `layer entry "${opts.entry}" ${why}: refusing to write outside the rootfs`,
      { entry: opts.entry },
    );

  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // Only symlink targets bring `..` here (entryParts refuses it in names).
      if (resolved.length === 0) {
        if (opts.absolute === 'refuse') throw unsafe('goes through a symlink that climbs above the rootfs');
        continue;
      }
      resolved.pop();
      continue;
    }
    const abs = join(root, ...resolved, part);
    let st;
    try {
      st = await lstat(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (!opts.create) return undefined;
      await mkdir(abs, { mode: 0o755 });
      opts.onCreate?.(abs);
      resolved.push(part);
      continue;
    }
    if (st.isDirectory()) {
      resolved.push(part);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw unsafe('goes through a symlink loop');
      const target = await readlink(abs);
      const linkName = [...resolved, part].join('/');
      if (target.startsWith('/')) {
        if (opts.absolute === 'refuse')
          throw unsafe(`would be written through symlink "${linkName}" -> "${target}"`);
        resolved = [];
      }
      pending.unshift(...target.split('/'));
      continue;
    }
    throw new ImageError(
      'LAYER_CORRUPT',
      `layer entry "${opts.entry}": "${[...resolved, part].join('/')}" is not a directory`,
      {
        entry: opts.entry,
      },
    );
  }
  return join(root, ...resolved);
}
