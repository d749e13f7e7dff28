import type { Command } from 'commander';
import type { Io } from '../io.js';
import { note, out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { parseInteger } from '../parse.js';
import { openClient } from '../session.js';

export function registerTokens(program: Command, io: Io): void {
  const tokens = program.command('tokens').description('API tokens (swg_…) for scripts and CI');

  tokens
    .command('create <name>')
    .description('Create an API token and print it, once; use it as SHELLWEGO_TOKEN')
    .option('--scope <scope...>', 'limit it, e.g. apps:read:* (repeatable; default: your role)')
    .option('--org <org>', 'organization the scopes apply to (default: your first)')
    .option('--expires-in-days <days>', 'expire after this many days (default: never)')
    .option('--json', 'print the token record, token included, as JSON')
    .action(
      async (
        name: string,
        flags: { scope?: string[]; org?: string; expiresInDays?: string; json?: boolean },
      ) => {
        const created = await (
          await openClient(io)
        ).tokens.create({
          name,
          ...(flags.scope === undefined ? {} : { scopes: flags.scope }),
          ...(flags.org === undefined ? {} : { org: flags.org }),
          ...(flags.expiresInDays === undefined
            ? {}
            : { expires_in_days: parseInteger(flags.expiresInDays, '--expires-in-days', 'expires_in_days') }),
        });
        if (flags.json) return printJson(io, created);
        // The token alone on stdout, so that TOKEN=$(shellwego tokens create ci) works.
        note(io, `created token ${created.name} (${created.id}); it is shown only this once:`);
        out(io, created.token);
      },
    );

  tokens
    .command('ls')
    .alias('list')
    .description('List your API tokens (never their values)')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const { items } = await (await openClient(io)).tokens.list();
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['id', 'name', 'scopes', 'created', 'expires', 'last used'],
        items.map((t) => [
          t.id,
          t.name,
          t.scopes.join(',') || '-',
          when(t.created_at),
          when(t.expires_at),
          when(t.last_used_at),
        ]),
      );
    });

  tokens
    .command('revoke <id>')
    .alias('rm')
    .description('Revoke an API token; it stops working at once')
    .action(async (id: string) => {
      await (await openClient(io)).tokens.revoke(id);
      out(io, `revoked token ${id}`);
    });
}
