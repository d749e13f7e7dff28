import type { Command } from 'commander';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { openClient } from '../session.js';

export function registerDomains(program: Command, io: Io): void {
  const domains = program
    .command('domains')
    .description("Manage an app's custom domains and see their certificates' status");

  domains
    .command('add <app> <hostname>')
    .description('Serve the app at HOSTNAME too; its certificate is requested at once')
    .option('--json', 'print the domain as JSON')
    .action(async (app: string, hostname: string, flags: { json?: boolean }) => {
      const d = await (await openClient(io)).domains.add(app, hostname);
      if (flags.json) return printJson(io, d);
      out(
        io,
        `added ${d.hostname} to ${app}; certificate ${d.tls_status} (see \`shellwego domains ls ${app}\`)`,
      );
    });

  domains
    .command('ls <app>')
    .alias('list')
    .description("An app's domains with their TLS status, certificate expiry and the last ACME error")
    .option('--json', 'print a JSON array')
    .action(async (app: string, flags: { json?: boolean }) => {
      const { items } = await (await openClient(io)).domains.list(app);
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['hostname', 'tls', 'expires', 'last ACME error'],
        items.map((d) => [
          d.hostname,
          d.tls_status,
          d.certificate_expires_at === null ? '-' : when(d.certificate_expires_at),
          d.last_acme_error ?? '-',
        ]),
      );
    });

  domains
    .command('rm <app> <hostname>')
    .alias('remove')
    .description('Stop serving the app at HOSTNAME')
    .action(async (app: string, hostname: string) => {
      await (await openClient(io)).domains.remove(app, hostname);
      out(io, `removed ${hostname} from ${app}`);
    });
}
