import { join } from 'node:path';
import type { Command } from 'commander';
import type { ImageStore, LayerProgress } from '@shellwego/registry';
import { defaultDataDir } from '../data-dir.js';
import type { Io } from '../io.js';
import { note, out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { parseInteger } from '../parse.js';

interface DataDirFlags {
  dataDir?: string;
}

/** Redraws at most this often: a fast local pull would otherwise spend its time writing to the terminal. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

function withDataDir(cmd: Command): Command {
  return cmd.option(
    '--data-dir <dir>',
    "this node's data dir; images live in <dir>/images, registry settings in <dir>/registries.json " +
      '(default: $SHELLWEGO_DATA_DIR, /var/lib/shellwego as root, else ~/.local/share/shellwego)',
  );
}

async function openImages(io: Io, flags: DataDirFlags): Promise<ImageStore> {
  const dataDir = flags.dataDir ?? defaultDataDir(io);
  // Loaded here: the registry client (undici, tar) would slow every other command's start.
  const { ImageStore, loadRegistryConfig } = await import('@shellwego/registry');
  return ImageStore.open(join(dataDir, 'images'), { config: await loadRegistryConfig(dataDir) });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return `${digest.slice(0, colon + 13)}…`;
}

function layers(n: number): string {
  return n === 1 ? '1 layer' : `${n} layers`;
}

/** One line on stderr, redrawn in place: overall bytes and finished layers. Only for a terminal. */
function progressLine(
  io: Io,
  reference: string,
): { listener: (e: LayerProgress) => void; clear: () => void } {
  const seen = new Map<string, LayerProgress>();
  let last = 0;
  let drawn = false;
  const draw = (): void => {
    let done = 0;
    let total = 0;
    let finished = 0;
    for (const e of seen.values()) {
      done += e.done;
      total += e.total;
      if (e.status === 'done' || e.status === 'skipped') finished++;
    }
    const filled = total === 0 ? 0 : Math.round((done / total) * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
    const line = `pulling ${reference} [${bar}] ${formatBytes(done)}/${formatBytes(total)}, ${finished}/${layers(seen.size)}`;
    io.stderr.write(`\r\x1b[K${line}`);
    drawn = true;
  };
  return {
    listener: (e) => {
      seen.set(e.digest, e);
      const now = Date.now();
      if (e.status === 'downloading' && now - last < REDRAW_MS) return;
      last = now;
      draw();
    },
    clear: () => {
      if (drawn) io.stderr.write('\r\x1b[K');
      drawn = false;
    },
  };
}

async function pullImage(io: Io, reference: string, flags: DataDirFlags): Promise<void> {
  const images = await openImages(io, flags);
  const progress = io.stderr.isTTY ? progressLine(io, reference) : undefined;
  const abort = new AbortController();
  const onSignal = (): void => abort.abort(new Error(`pull of ${reference} interrupted`));
  process.once('SIGINT', onSignal);
  try {
    const image = await images.pull(reference, {
      signal: abort.signal,
      ...(progress === undefined ? {} : { onProgress: progress.listener }),
    });
    progress?.clear();
    out(
      io,
      `pulled ${image.reference} (${shortDigest(image.digest)}, ${formatBytes(image.size)}, ` +
        `${layers(image.layers)}, ${formatBytes(image.downloadedBytes)} downloaded)`,
    );
  } finally {
    progress?.clear();
    process.removeListener('SIGINT', onSignal);
  }
}

async function listImages(io: Io, flags: DataDirFlags & { json?: boolean }): Promise<void> {
  const list = await (await openImages(io, flags)).list();
  if (flags.json) return printJson(io, list);
  printTable(
    io,
    ['reference', 'digest', 'size', 'created'],
    list.map((i) => [i.reference, shortDigest(i.digest), formatBytes(i.size), when(i.created ?? null)]),
  );
}

async function importImages(io: Io, file: string, flags: DataDirFlags & { name?: string }): Promise<void> {
  const images = await (
    await openImages(io, flags)
  ).import(file, flags.name === undefined ? {} : { name: flags.name });
  for (const image of images) {
    const what = `${shortDigest(image.digest)}, ${formatBytes(image.size)}, ${layers(image.layers)}`;
    // Unnamed images stay until the next prune: nothing refers to them.
    out(io, `imported ${image.reference ?? '(unnamed)'} (${what})`);
  }
}

async function pruneImages(io: Io, flags: DataDirFlags & { grace: string }): Promise<void> {
  const graceMs = parseInteger(flags.grace, '--grace', 'grace') * 1000;
  const result = await (await openImages(io, flags)).prune({ graceMs });
  out(
    io,
    `pruned ${result.removedBlobs} blobs and ${result.removedRootfs} unpacked images, ` +
      `${formatBytes(result.bytesFreed)} freed`,
  );
  // Say why a prune right after `rm` may free nothing: the grace protects pulls in other processes.
  if (graceMs > 0)
    note(
      io,
      `content younger than ${flags.grace} s was kept (another process may be pulling it); --grace 0 includes it`,
    );
}

export function registerImages(program: Command, io: Io): void {
  const images = program
    .command('images')
    .summary("Manage this node's images (pull, ls, rm, import, prune)")
    .description(
      "Manage this node's images, stored once in the data dir and shared by every app. Local commands:\n" +
        'no server needed. Mirrors, credentials and insecure registries come from <data dir>/registries.json.',
    );

  withDataDir(images.command('pull').argument('<reference>', 'e.g. nginx:1.27 or host:5000/a/b@sha256:…'))
    .description(
      'Pull an image from its registry and unpack it; layers already stored are not downloaded again',
    )
    .action((reference: string, flags: DataDirFlags) => pullImage(io, reference, flags));

  withDataDir(images.command('ls').alias('list'))
    .description('List the images stored on this node')
    .option('--json', 'print JSON')
    .action((flags: DataDirFlags & { json?: boolean }) => listImages(io, flags));

  withDataDir(images.command('rm').argument('<reference>', 'the image to forget'))
    .description('Forget an image; `images prune` then frees what no other image uses')
    .action(async (reference: string, flags: DataDirFlags) => {
      await (await openImages(io, flags)).remove(reference);
      out(io, `removed ${reference}`);
    });

  withDataDir(
    images.command('import').argument('<file>', 'a docker save tarball or an OCI layout (dir or tarball)'),
  )
    .description('Import images from an archive, with no registry involved')
    .option('--name <name>', 'repository for images the layout names by a bare tag (name:tag)')
    .action((file: string, flags: DataDirFlags & { name?: string }) => importImages(io, file, flags));

  withDataDir(images.command('prune'))
    .description('Delete blobs and unpacked images that no stored image uses')
    .option(
      '--grace <seconds>',
      'keep unused content younger than this: a pull in another process may not have recorded its image yet',
      '600',
    )
    .action((flags: DataDirFlags & { grace: string }) => pruneImages(io, flags));
}
