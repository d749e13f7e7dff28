import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { ImageError } from './unpack/image-error.js';
import { resolveDirInRoot } from './unpack/safe-path.js';

/** The part of an OCI/Docker image config this file reads (`config` in the config blob). */
export interface ImageConfig {
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown> | null;
  } | null;
}

/**
 * What an app sets over its image, with Kubernetes' meaning (Docker's in brackets):
 * `command` replaces the image Entrypoint and drops its Cmd (`--entrypoint`); `args` replaces Cmd
 * (`docker run IMAGE args…`). Both together run exactly `command ++ args`.
 */
export interface AppOverrides {
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
}

/** Numeric uid:gid is usable as is; anything else needs resolveUser against the unpacked rootfs. */
export type ProcessUser = { uid: number; gid: number } | { name: string };

export interface ProcessSpec {
  /** process.args: at least one entry. */
  args: string[];
  /** process.env as `KEY=value`, image defaults first, the app's values winning. */
  env: string[];
  /** Absolute. */
  cwd: string;
  user: ProcessUser;
  /** TCP ports from ExposedPorts (`80/tcp`, `80`); UDP and SCTP ports are left out. */
  exposedPorts: number[];
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function mergeEnv(image: readonly string[], app: Record<string, string>): string[] {
  const env = new Map<string, string>();
  for (const kv of image) {
    const eq = kv.indexOf('=');
    // Docker reads a bare `KEY` from the client's environment; an image has none to offer, so skip it.
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  for (const [k, v] of Object.entries(app)) env.set(k, v);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

function tcpPorts(exposed: Record<string, unknown>): number[] {
  const ports = new Set<number>();
  for (const key of Object.keys(exposed)) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(key);
    const port = Number(m?.[1]);
    if (m && (m[2] ?? 'tcp').toLowerCase() === 'tcp' && port > 0 && port < 65536) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

function parseUser(spec: string): ProcessUser {
  if (spec === '') return { uid: 0, gid: 0 };
  const m = /^(\d+):(\d+)$/.exec(spec);
  return m ? { uid: Number(m[1]), gid: Number(m[2]) } : { name: spec };
}

/** Turns an image config and an app's overrides into the process to run, as Docker would. */
export function resolveProcess(image: ImageConfig, app: AppOverrides = {}): ProcessSpec {
  const c = image.config ?? {};
  const entrypoint = app.command ?? c.Entrypoint ?? [];
  const cmd = app.args ?? (app.command !== undefined ? [] : (c.Cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new ImageError(
      'IMAGE_CONFIG_INVALID',
      'the image has no Entrypoint or Cmd and the app sets no command: give the app a command to run',
    );
  }
  const workingDir = app.workingDir ?? c.WorkingDir ?? '';
  return {
    args,
    env: mergeEnv(c.Env ?? [], app.env ?? {}),
    // Docker reads a relative WorkingDir from `/`.
    cwd: posix.resolve('/', workingDir),
    user: parseUser(app.user ?? c.User ?? ''),
    exposedPorts: tcpPorts(c.ExposedPorts ?? {}),
  };
}

/** /etc/passwd and /etc/group are small; a huge one is not what it claims. */
const MAX_ACCOUNT_FILE = 4 << 20;
const MAX_SYMLINK_HOPS = 40;

/**
 * Reads a file of the rootfs as the container would see it (absolute symlinks resolve inside the
 * rootfs), never outside it. undefined when missing.
 */
async function readInRoot(rootfs: string, path: string): Promise<string | undefined> {
  let parts = path.split('/');
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    const base = parts.pop();
    const dir = await resolveDirInRoot(rootfs, parts, { create: false, absolute: 'scope', entry: path });
    if (dir === undefined || base === undefined || base === '..' || base === '.' || base === '')
      return undefined;
    const file = join(dir, base);
    const st = await lstat(file).catch(() => undefined);
    if (st === undefined) return undefined;
    if (st.isSymbolicLink()) {
      const target = await readlink(file);
      parts = target.startsWith('/')
        ? target.split('/')
        : [...relative(rootfs, dir).split('/'), ...target.split('/')];
      continue;
    }
    if (!st.isFile() || st.size > MAX_ACCOUNT_FILE) return undefined;
    // O_NOFOLLOW: the path was checked above; refuse if it turned into a symlink since.
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  }
  throw new ImageError('IMAGE_CONFIG_INVALID', `${path} in the rootfs is a symlink loop`);
}

function records(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/**
 * Resolves an image User (`name`, `uid`, `name:group`, `uid:gid`, …) against the rootfs's
 * /etc/passwd and /etc/group. Numbers are taken as they are; with no group, the user's primary
 * group and the groups listing it as a member apply. An unknown name is an error.
 */
export async function resolveUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = records(await readInRoot(rootfs, 'etc/passwd'));
  const groups = records(await readInRoot(rootfs, 'etc/group'));
  const numeric = /^\d+$/.test(userPart);
  const user =
    userPart === ''
      ? passwd.find((p) => p[2] === '0')
      : passwd.find((p) => (numeric ? p[2] === userPart : p[0] === userPart));
  if (!numeric && userPart !== '' && user === undefined) {
    throw new ImageError(
      'IMAGE_CONFIG_INVALID',
      `user "${userPart}" is not in the image's /etc/passwd: use a numeric uid or add the user to the image`,
    );
  }
  const uid = userPart === '' ? 0 : numeric ? Number(userPart) : Number(user?.[2]);
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) return { uid, gid: Number(groupPart), additionalGids: [] };
    const group = groups.find((g) => g[0] === groupPart);
    if (group === undefined) {
      throw new ImageError(
        'IMAGE_CONFIG_INVALID',
        `group "${groupPart}" is not in the image's /etc/group: use a numeric gid or add the group`,
      );
    }
    return { uid, gid: Number(group[2]), additionalGids: [] };
  }
  const gid = user?.[3] !== undefined && /^\d+$/.test(user[3]) ? Number(user[3]) : 0;
  const name = user?.[0];
  const additionalGids =
    name === undefined
      ? []
      : groups
          .filter((g) => (g[3] ?? '').split(',').includes(name) && /^\d+$/.test(g[2] ?? ''))
          .map((g) => Number(g[2]))
          .filter((g, i, all) => g !== gid && all.indexOf(g) === i);
  return { uid, gid, additionalGids };
}
