import type { Command } from 'commander';
import type { Io } from '../io.js';
import { note, out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { confirmDeletion } from '../prompt.js';
import { openClient } from '../session.js';

export function registerVolumes(program: Command, io: Io): void {
  const volumes = program
    .command('volumes')
    .description("Persistent volumes: directories an app's instances keep across releases");

  volumes
    .command('create <name>')
    .description(
      'Create a volume; with --app (and --mount, default /data) the app mounts it from its next start',
    )
    .requiredOption('--size <size>', 'how much it may hold: 512m, 10g or bytes')
    .option('--app <app>', 'the app to mount it in')
    .option('--mount <path>', 'where the app sees it (default /data with --app)')
    .option('--org <org>', 'the owning organization, without --app (default: your first)')
    .option('--json', 'print the volume as JSON')
    .action(
      async (
        name: string,
        flags: { size: string; app?: string; mount?: string; org?: string; json?: boolean },
      ) => {
        const v = await (
          await openClient(io)
        ).volumes.create({
          name,
          size: flags.size,
          ...(flags.app === undefined ? {} : { app: flags.app }),
          ...(flags.mount === undefined ? {} : { mount_path: flags.mount }),
          ...(flags.org === undefined ? {} : { org: flags.org }),
        });
        if (flags.json) return printJson(io, v);
        out(io, `created volume ${v.name} (${v.size})`);
        if (flags.app !== undefined)
          note(io, `${flags.app} mounts it at ${v.mount_path ?? '-'}; its instances restart to take it`);
      },
    );

  volumes
    .command('ls')
    .alias('list')
    .description('Volumes with their app, mount path and status')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const { items } = await (await openClient(io)).volumes.list();
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['name', 'size', 'app', 'mount', 'status', 'created'],
        items.map((v) => [
          v.name,
          v.size,
          v.app_id ?? '-',
          v.mount_path ?? '-',
          v.status,
          when(v.created_at),
        ]),
      );
    });

  volumes
    .command('rm <volume>')
    .alias('delete')
    .description("Delete a volume's record; its app stops mounting it (nodes keep the data directory)")
    .option('-y, --yes', 'do not ask (required when stdin is not a terminal)')
    .action(async (key: string, flags: { yes?: boolean }) => {
      const client = await openClient(io);
      const go = await confirmDeletion(io, {
        yes: flags.yes,
        kind: 'volume',
        key,
        question: async () => {
          const v = await client.volumes.get(key);
          return `Delete volume ${v.name} (${v.id})? Its app stops mounting it.`;
        },
      });
      if (!go) return out(io, 'not deleted');
      await client.volumes.delete(key);
      out(io, `deleted volume ${key}`);
    });
}
