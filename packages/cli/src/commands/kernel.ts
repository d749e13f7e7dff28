import { join } from 'node:path';
import type { Command } from 'commander';
import { defaultDataDir } from '../data-dir.js';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { printJson } from '../output.js';
import { withSpinner } from '../spinner.js';

interface KernelFlags {
  dataDir?: string;
  from?: string;
  refresh?: boolean;
  json?: boolean;
}

/** Where the node keeps guest kernels: next to its images, shared by the agent's microvm runtime. */
export function kernelDirOf(dataDir: string): string {
  return join(dataDir, 'kernels');
}

export function registerKernel(program: Command, io: Io): void {
  const kernel = program
    .command('kernel')
    .description("The guest kernel this node's microVMs boot (installed once per node, as root)");

  kernel
    .command('install')
    .description(
      "Install a guest kernel and build its initramfs: by default Debian's cloud kernel, extracted from its\n" +
        'package without installing it (QEMU microvm); --from PATH|URL for an uncompressed vmlinux (Firecracker)',
    )
    .option(
      '--data-dir <dir>',
      "this node's data dir; kernels live in <dir>/kernels (default: as for `shellwego up`)",
    )
    .option('--from <path-or-url>', 'an uncompressed vmlinux with virtio-mmio built in, for Firecracker')
    .option('--refresh', 'look for a newer Debian kernel even when one is installed')
    .option('--json', 'print the installed kernel as JSON')
    .action(async (flags: KernelFlags) => {
      // Loaded here: the microvm driver is for this command and the agent only.
      const { installKernel } = await import('@shellwego/driver-microvm');
      const dir = kernelDirOf(flags.dataDir ?? defaultDataDir(io));
      const installed = await withSpinner(io, 'installing the guest kernel', () =>
        installKernel({
          dir,
          ...(flags.from === undefined ? {} : { source: { kind: 'vmlinux' as const, from: flags.from } }),
          ...(flags.refresh ? { refresh: true } : {}),
        }),
      );
      if (flags.json) return printJson(io, installed);
      out(io, `installed kernel ${installed.name} in ${join(dir, installed.name)}`);
    });

  kernel
    .command('show')
    .description('Show the installed guest kernel')
    .option('--data-dir <dir>', "this node's data dir (default: as for `shellwego up`)")
    .option('--json', 'print it as JSON')
    .action(async (flags: KernelFlags) => {
      const { currentKernel } = await import('@shellwego/driver-microvm');
      const dir = kernelDirOf(flags.dataDir ?? defaultDataDir(io));
      const current = await currentKernel(dir);
      if (flags.json) return printJson(io, current);
      out(
        io,
        current === null
          ? `no kernel installed in ${dir}: run shellwego kernel install`
          : `${current.name}: ${current.kernel}`,
      );
    });
}
