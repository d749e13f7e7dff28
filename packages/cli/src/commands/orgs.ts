import type { Command } from 'commander';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { openClient } from '../session.js';

export function registerOrgs(program: Command, io: Io): void {
  const orgs = program.command('orgs').description('Organizations: who owns apps and who may change them');

  orgs
    .command('ls')
    .alias('list')
    .description('List your organizations and your role in each')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const { items } = await (await openClient(io)).orgs.list();
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['name', 'id', 'role', 'created'],
        items.map((o) => [o.name, o.id, o.role, when(o.created_at)]),
      );
    });

  orgs
    .command('create <name>')
    .description('Create an organization; you become its owner')
    .option('--json', 'print the organization as JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      const org = await (await openClient(io)).orgs.create({ name });
      if (flags.json) return printJson(io, org);
      out(io, `created organization ${org.name} (${org.id})`);
    });
}
