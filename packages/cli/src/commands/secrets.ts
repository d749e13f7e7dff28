import type { Command } from 'commander';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { parseKeyValues } from '../parse.js';
import { readStdin, withoutFinalNewline } from '../prompt.js';
import { openClient } from '../session.js';

/** Reads `K=-` values from stdin; stdin holds one value, so only one pair may ask for it. */
async function resolveValues(io: Io, pairs: [string, string][]): Promise<[string, string][]> {
  const fromStdin = pairs.filter(([, v]) => v === '-');
  if (fromStdin.length === 0) return pairs;
  if (fromStdin.length > 1) {
    throw new CliError('VALIDATION_FAILED', 'only one secret can read its value from stdin (K=-)', {
      field: 'value',
    });
  }
  if (io.stdin.isTTY) {
    throw new CliError('VALIDATION_FAILED', 'K=- reads the value from stdin, which is a terminal', {
      field: 'value',
      hint: 'pipe the value in, e.g. `printf %s "$VALUE" | shellwego secrets set APP K=-`',
    });
  }
  const value = withoutFinalNewline(await readStdin(io));
  return pairs.map(([k, v]) => [k, v === '-' ? value : v]);
}

export function registerSecrets(program: Command, io: Io): void {
  const secrets = program
    .command('secrets')
    .description(
      "Manage an app's secrets: they reach the app as environment variables and are never shown again",
    );

  secrets
    .command('set <app> <pairs...>')
    .description('Set secrets: K=V, or K=- to read the value from stdin. Values are never printed.')
    .action(async (app: string, rawPairs: string[]) => {
      const pairs = await resolveValues(io, parseKeyValues(rawPairs, 'secret', 'secret'));
      const client = await openClient(io);
      for (const [name, value] of pairs) {
        const s = await client.secrets.set(app, name, value);
        out(io, `set ${s.name} on ${app} (version ${s.version})`);
      }
    });

  secrets
    .command('ls <app>')
    .alias('list')
    .description('List secret names and versions (values stay on the server)')
    .option('--json', 'print a JSON array')
    .action(async (app: string, flags: { json?: boolean }) => {
      const { items } = await (await openClient(io)).secrets.list(app);
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['name', 'version', 'updated'],
        items.map((s) => [s.name, String(s.version), when(s.updated_at)]),
      );
    });

  secrets
    .command('unset <app> <names...>')
    .alias('rm')
    .description('Remove secrets')
    .action(async (app: string, names: string[]) => {
      const client = await openClient(io);
      for (const name of names) {
        await client.secrets.unset(app, name);
        out(io, `unset ${name} on ${app}`);
      }
    });
}
