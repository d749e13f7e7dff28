import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceNetwork, InstanceSpec, ProcessSpec } from '@shellwego/driver-sdk';

/** Single-quotes a value for sh: the only character that needs care inside '…' is ' itself. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** What the guest init needs, as resolved by the driver. */
export interface GuestConfig {
  hostname: string;
  network: InstanceNetwork | null;
  process: ProcessSpec;
  secrets: Record<string, string>;
  /** Volume drives by ext4 UUID (32 hex digits, as the guest init reads it from the superblock) → target. */
  volumes: { uuid: string; target: string; readOnly: boolean }[];
}

/** Where the guest's busybox lives after init copied it into the (per-instance, writable) root. */
const BB = '/.shellwego/busybox';

/**
 * The files of the config drive. Shell rather than JSON because the guest has busybox only and no JSON parser:
 * every value is single-quoted, so nothing in the spec can inject commands into the guest init.
 */
export function guestConfigFiles(cfg: GuestConfig): Map<string, string> {
  const q = shellQuote;
  const { process: p } = cfg;
  const files = new Map<string, string>();
  files.set(
    'config.sh',
    [
      `SWG_HOSTNAME=${q(cfg.hostname)}`,
      `SWG_IP=${q(cfg.network?.ip ?? '')}`,
      `SWG_PREFIX=${q(String(cfg.network?.prefix ?? ''))}`,
      `SWG_GATEWAY=${q(cfg.network?.gateway ?? '')}`,
      `SWG_UID=${p.user.uid}`,
      `SWG_GID=${p.user.gid}`,
      '',
    ].join('\n'),
  );
  // Secrets join the env (the process sees them as variables) and /run/secrets (files on the guest's tmpfs).
  const env = [...p.env, ...Object.entries(cfg.secrets).map(([k, v]) => `${k}=${v}`)];
  const [argv0, ...rest] = p.args;
  files.set(
    'app.sh',
    [
      'rm -f /run/.swg-app.sh',
      `cd ${q(p.cwd)} || { echo "shellwego-init: cwd ${p.cwd.replace(/[^\w/.-]/g, '?')} missing"; exit 126; }`,
      // env -i: exactly the spec's environment. nsenter -S/-G (entering no namespace) is busybox's way to set a
      // numeric uid/gid without /etc/passwd in the image; it clears supplementary groups and execs the entrypoint.
      `exec ${BB} env -i ${env.map(q).join(' ')} ${BB} nsenter -S ${p.user.uid} -G ${p.user.gid} -- ` +
        [argv0 ?? '/bin/sh', ...rest].map(q).join(' '),
      '',
    ].join('\n'),
  );
  // "<uuid> <ro|rw> <target>": the target last, so `read` gives it the rest of the line, spaces included.
  files.set(
    'volumes',
    cfg.volumes.map((v) => `${v.uuid} ${v.readOnly ? 'ro' : 'rw'} ${v.target}\n`).join(''),
  );
  for (const [name, value] of Object.entries(cfg.secrets)) files.set(`secrets/${name}`, value);
  return files;
}

/** A ustar archive (what busybox tar reads), 512-byte blocks, so it is a valid raw disk as it is. */
export function tarFiles(files: Map<string, string>): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, type: '0' | '5'): Buffer => {
    if (Buffer.byteLength(name) > 99) throw new Error(`config drive entry name too long: ${name}`);
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write(type === '5' ? '0000700\0' : '0000600\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148); // checksum field counts as spaces while summing
    h.write(type, 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    return h;
  };
  const dirs = new Set<string>();
  for (const [name, content] of files) {
    const dir = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';
    if (dir !== '' && !dirs.has(dir)) {
      dirs.add(dir);
      blocks.push(header(dir, 0, '5'));
    }
    const data = Buffer.from(content, 'utf8');
    blocks.push(header(name, data.length, '0'), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Default home of config drives: /dev/shm is tmpfs, so the secrets in them never reach a disk. */
export const DEFAULT_CONFIG_DRIVE_DIR = '/dev/shm/shellwego-microvm';

/** Writes the instance's config drive (mode 0600 in a 0700 dir) on tmpfs and returns its path. */
export async function writeConfigDrive(dir: string, instanceId: string, cfg: GuestConfig): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${instanceId}.cfg`);
  await writeFile(path, tarFiles(guestConfigFiles(cfg)), { mode: 0o600 });
  return path;
}

export async function removeConfigDrive(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The guest config for a spec, once the driver has resolved the network and the volume drives. */
export function guestConfigOf(
  spec: Pick<InstanceSpec, 'hostname' | 'secrets'> & { process: ProcessSpec },
  network: InstanceNetwork | null,
  volumes: GuestConfig['volumes'],
): GuestConfig {
  return { hostname: spec.hostname, network, process: spec.process, secrets: spec.secrets, volumes };
}
