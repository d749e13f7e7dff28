import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { VolumeMount } from '@shellwego/driver-sdk';
import { mustRun, runTool } from './run-tool.js';
import { fail } from './vm-lifecycle.js';

/**
 * Volumes reach a microVM as ext4 images on extra virtio-blk drives (Debian's cloud kernel has no 9p).
 *
 * Where the image lives: inside the volume's `source` directory, as the file `.shellwego-volume.ext4`. So it goes
 * wherever the volume directory goes (the agent deleting a volume deletes it, a backup of the directory holds it),
 * and no second registry of volumes is needed. It is created on first use: sparse, DEFAULT_VOLUME_BYTES unless the
 * spec says `sizeBytes`, seeded with the directory's files by `mkfs.ext4 -d` (the root of the filesystem owned like
 * the directory). It is never reformatted afterwards: from then on the image is the volume's content, and host files
 * added to the directory later are not seen by VMs. `sizeBytes` only matters at creation (no resize).
 *
 * One writer at a time: a writable image is held under an exclusive flock, read-only ones under shared flocks, by
 * the VM's shim process for as long as the VM lives (see lockPrefix). A second writer, or a writer next to readers,
 * would corrupt ext4 (it is no cluster filesystem), so start refuses it naming the volume.
 */
export const VOLUME_IMAGE_NAME = '.shellwego-volume.ext4';
export const DEFAULT_VOLUME_BYTES = 2 ** 30;
const MIN_VOLUME_BYTES = 16 * 2 ** 20;
/** microvm has 24 virtio-mmio slots; root, config drive, NIC and serial take four. Leaves headroom. */
const MAX_VOLUMES = 16;
/** A VM that just stopped releases its locks when its shim exits, a moment after stop() returns. */
const LOCK_WAIT_S = '2';
/** flock's exit code when the lock stayed taken (-E). */
export const LOCK_BUSY_EXIT = 75;

export interface AttachedVolume {
  source: string;
  target: string;
  readOnly: boolean;
  /** The ext4 image attached as a drive. */
  image: string;
  /** Its filesystem UUID as 32 hex digits: how the guest init tells the drives apart (device order is not stable). */
  uuid: string;
}

/** Parsed volume (zod filled the readOnly default). */
type Volume = VolumeMount & { readOnly: boolean };

/** Targets are written one per line into the config drive and become mount points: keep them plain. */
function checkTargets(volumes: readonly Volume[]): void {
  if (volumes.length > MAX_VOLUMES)
    throw fail('INVALID_SPEC', `at most ${MAX_VOLUMES} volumes per microVM (got ${volumes.length})`);
  const targets = new Set<string>();
  const sources = new Set<string>();
  for (const v of volumes) {
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\x00-\x1f\x7f]/.test(v.target) || posix.normalize(v.target) !== v.target || v.target === '/') {
      throw fail(
        'INVALID_SPEC',
        `volume target ${JSON.stringify(v.target)}: need a plain absolute path below /`,
      );
    }
    if (
      ['/proc', '/sys', '/dev', '/run', '/tmp', '/.shellwego'].some(
        (p) => v.target === p || v.target.startsWith(`${p}/`),
      )
    )
      throw fail(
        'INVALID_SPEC',
        `volume target ${v.target} is where the guest init mounts its own filesystems`,
      );
    if (targets.has(v.target)) throw fail('INVALID_SPEC', `two volumes mount at ${v.target}`);
    if (sources.has(v.source)) throw fail('INVALID_SPEC', `volume ${v.source} is listed twice`);
    targets.add(v.target);
    sources.add(v.source);
  }
}

const creating = new Map<string, Promise<void>>();

/**
 * Each volume's image, created if missing, and checked to be ext4. `tmpDir` (the driver's state dir) stages new
 * images, because a file being written inside the source directory would be copied into itself by `mkfs -d`.
 */
export async function prepareVolumes(volumes: readonly Volume[], tmpDir: string): Promise<AttachedVolume[]> {
  checkTargets(volumes);
  const out: AttachedVolume[] = [];
  for (const v of volumes) {
    const s = await stat(v.source).catch(() => null);
    if (s === null || !s.isDirectory())
      throw fail('INVALID_SPEC', `volume source ${v.source} is not a directory on this node`);
    const image = join(v.source, VOLUME_IMAGE_NAME);
    if (!(await exists(image))) {
      let p = creating.get(image);
      if (p === undefined) {
        p = createImage(v, image, tmpDir).finally(() => creating.delete(image));
        creating.set(image, p);
      }
      await p;
    }
    const sb = await readSuperblock(image).catch((e: unknown) => {
      throw fail('START_FAILED', `volume ${v.source}: ${(e as Error).message}`, e);
    });
    if (sb.needsRecovery && v.readOnly) await replayJournal(v.source, image);
    out.push({ source: v.source, target: v.target, readOnly: v.readOnly, image, uuid: sb.uuid });
  }
  const seen = new Map<string, string>();
  for (const v of out) {
    const other = seen.get(v.uuid);
    // Only a copied image file does this; the guest could not tell the two drives apart.
    if (other !== undefined)
      throw fail(
        'INVALID_SPEC',
        `volumes ${other} and ${v.source} hold the same filesystem (a copied image)`,
      );
    seen.set(v.uuid, v.source);
  }
  return out;
}

async function createImage(v: Volume, image: string, tmpDir: string): Promise<void> {
  // Leftovers of an interrupted creation would otherwise be seeded into the new image.
  for (const f of await readdir(v.source)) {
    if (f.startsWith(`${VOLUME_IMAGE_NAME}.`) && f.endsWith('.tmp'))
      await rm(join(v.source, f), { force: true });
  }
  const owner = await stat(v.source);
  const bytes = Math.max(MIN_VOLUME_BYTES, v.sizeBytes ?? DEFAULT_VOLUME_BYTES);
  const kib = Math.floor(bytes / 4096) * 4;
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const rand = randomBytes(4).toString('hex');
  const staged = join(tmpDir, `volume-${rand}.ext4.tmp`);
  const placed = join(v.source, `${VOLUME_IMAGE_NAME}.${rand}.tmp`);
  try {
    await mustRun('mkfs.ext4', [
      '-q',
      '-F',
      '-L',
      'swgvol',
      '-U',
      randomUUID(),
      // No blocks reserved for root: the app owns the whole volume.
      '-m',
      '0',
      // The journal stays (a VM can be killed mid-write); the fresh sparse file already reads as zeros.
      '-E',
      `root_owner=${owner.uid}:${owner.gid},lazy_journal_init=1`,
      '-d',
      v.source,
      staged,
      `${kib}k`,
    ]).catch((e: unknown) => {
      const why = (e as Error).message;
      throw fail(
        'INVALID_SPEC',
        /allocate|space|inode/i.test(why)
          ? `volume ${v.source}: its files do not fit in ${bytes} bytes; set a larger sizeBytes`
          : `volume ${v.source}: cannot create its image: ${why}`,
        e,
      );
    });
    await rename(staged, placed).catch(() =>
      mustRun('cp', ['--sparse=always', staged, placed]).then(() => undefined),
    );
    // link, not rename: if another agent created the image meanwhile, theirs wins and is never overwritten.
    await link(placed, image).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    });
  } finally {
    await rm(staged, { force: true });
    await rm(placed, { force: true });
  }
}

const EXT4_MAGIC = 0xef53;
const INCOMPAT_RECOVER = 0x4;

/** The ext4 superblock (at byte 1024): magic, UUID, and whether the journal needs replaying. */
export async function readSuperblock(image: string): Promise<{ uuid: string; needsRecovery: boolean }> {
  const fh = await open(image, 'r');
  try {
    const sb = Buffer.alloc(1024);
    await fh.read(sb, 0, 1024, 1024);
    if (sb.readUInt16LE(56) !== EXT4_MAGIC) throw new Error(`${image} is not an ext4 image`);
    return {
      uuid: sb.subarray(104, 120).toString('hex'),
      needsRecovery: (sb.readUInt32LE(96) & INCOMPAT_RECOVER) !== 0,
    };
  } finally {
    await fh.close();
  }
}

/**
 * A writer killed mid-write leaves the journal to replay; a read-only drive cannot replay it, so the guest could not
 * mount it. Replayed here when no VM holds the image (else the guest reports the failed mount).
 */
async function replayJournal(source: string, image: string): Promise<void> {
  const r = await runTool('flock', [
    '-x',
    '-w',
    LOCK_WAIT_S,
    image,
    'e2fsck',
    '-p',
    '-E',
    'journal_only',
    image,
  ]);
  // e2fsck: 0 clean, 1 fixed. Anything else is left to the guest's mount, which reports it.
  if (r.code !== 0 && r.code !== 1) {
    process.emitWarning(`volume ${source}: journal replay failed: ${(r.stderr || r.stdout).trim()}`);
  }
}

/**
 * `flock` commands to put before the shim: each execs the next (-F) holding its lock on an open file, so the shim
 * shell and the VMM it starts inherit them, and the kernel drops them when both are gone. Held by the shim too
 * because the jailer closes inherited descriptors.
 */
export function lockPrefix(volumes: readonly AttachedVolume[]): string[] {
  return volumes.flatMap((v) => [
    'flock',
    '-F',
    '-w',
    LOCK_WAIT_S,
    '-E',
    String(LOCK_BUSY_EXIT),
    v.readOnly ? '-s' : '-x',
    v.image,
  ]);
}

/** Refuses volumes another VM holds (a writer: any other user; a reader: another writer), naming the first. */
export async function checkVolumesFree(volumes: readonly AttachedVolume[]): Promise<void> {
  for (const v of volumes) {
    const mode = v.readOnly ? '-s' : '-x';
    const r = await runTool('flock', [
      mode,
      '-w',
      LOCK_WAIT_S,
      '-E',
      String(LOCK_BUSY_EXIT),
      v.image,
      'true',
    ]);
    if (r.code === LOCK_BUSY_EXIT) {
      throw fail(
        'START_FAILED',
        v.readOnly
          ? `volume ${v.source} is attached writable to another running instance; it cannot be mounted read-only meanwhile`
          : `volume ${v.source} is in use by another running instance; a writable volume is attached to one instance at a time`,
      );
    }
    if (r.code !== 0) throw fail('START_FAILED', `volume ${v.source}: flock failed: ${r.stderr.trim()}`);
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
