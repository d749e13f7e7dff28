import type { Command } from 'commander';
import type { Io } from '../io.js';
import { note, out } from '../io.js';
import { parseInteger } from '../parse.js';
import { printJson, printTable, when } from '../output.js';
import { openClient, openSession } from '../session.js';
import { formatBytes } from './images.js';

export function registerNodes(program: Command, io: Io): void {
  const nodes = program.command('nodes').description('Worker nodes: the machines that run app instances');

  nodes
    .command('ls')
    .alias('list')
    .description('List nodes with their status, runtimes and capacity')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const { items } = await (await openClient(io)).nodes.list();
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['name', 'status', 'runtimes', 'zone', 'memory', 'cpu', 'last heartbeat'],
        items.map((n) => [
          n.name,
          n.status,
          n.runtimes.join(','),
          n.zone ?? '-',
          formatBytes(n.capacity.memory_bytes),
          `${n.capacity.cpu_milli / 1000}`,
          when(n.last_heartbeat_at),
        ]),
      );
    });

  nodes
    .command('join-token')
    .description('Create a token a new node joins with, and print the command to run on it')
    .option('--ttl-hours <hours>', 'how long the token works', '24')
    .option('--zone <zone>', 'the zone nodes joining with it are in')
    .option('--org <org>', 'the organization the nodes belong to (default: your first)')
    .action(async (flags: { ttlHours: string; zone?: string; org?: string }) => {
      const { client, url } = await openSession(io);
      const ttl = parseInteger(flags.ttlHours, '--ttl-hours', 'ttl_hours');
      const jt = await client.nodes.joinTokens.create({
        ttl_hours: ttl,
        ...(flags.zone === undefined ? {} : { zone: flags.zone }),
        ...(flags.org === undefined ? {} : { org: flags.org }),
      });
      // The token alone on stdout, so scripts can capture it; the how-to goes to stderr.
      out(io, jt.token);
      note(io, `on the new node, as root: shellwego agent --join ${url} --token ${jt.token}`);
      note(io, `the token works until ${jt.expires_at} and is shown only now`);
    });
}
