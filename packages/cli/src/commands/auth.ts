import type { Command } from 'commander';
import { createClient } from '@shellwego/api-client';
import { configPath, readSession, removeSession, writeSession } from '../config-file.js';
import { CliError, usageError } from '../errors.js';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { printJson, printTable } from '../output.js';
import { promptHidden, readStdin, withoutFinalNewline } from '../prompt.js';
import { normalizeUrl, openClient } from '../session.js';
import { withSpinner } from '../spinner.js';

async function password(io: Io, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const value = io.stdin.isTTY
    ? await promptHidden(io, 'Password: ')
    : withoutFinalNewline(await readStdin(io));
  if (value === '') {
    throw new CliError('VALIDATION_FAILED', 'password: none given', {
      field: 'password',
      hint: 'pass --password, pipe it on stdin, or run in a terminal to be asked',
    });
  }
  return value;
}

export function registerAuth(program: Command, io: Io): void {
  program
    .command('login')
    .summary('Log in to a server and remember the session')
    .description(
      'Log in to a ShellWeGo server and remember the session in $XDG_CONFIG_HOME/shellwego/config.json.\n' +
        'Without --password, the password is read from stdin when it is piped, else asked for without echo.',
    )
    .option('--url <url>', 'the server, e.g. https://paas.example.com (default: $SHELLWEGO_URL)')
    .requiredOption('--email <email>', 'your e-mail address')
    .option('--password <password>', 'your password (visible to other users of this machine: prefer stdin)')
    .action(async (flags: { url?: string; email: string; password?: string }) => {
      const rawUrl = flags.url ?? io.env.SHELLWEGO_URL;
      if (!rawUrl) throw usageError("required option '--url <url>' not specified (or set SHELLWEGO_URL)");
      const url = normalizeUrl(rawUrl);
      const secret = await password(io, flags.password);
      const client = createClient({ baseUrl: url });
      const pair = await withSpinner(io, `logging in to ${url}`, () =>
        client.auth.login({ email: flags.email, password: secret }),
      );
      await writeSession(configPath(io), {
        url,
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
      });
      const me = await client.me();
      out(io, `logged in to ${url} as ${me.email}`);
    });

  program
    .command('logout')
    .description('Forget the saved session (SHELLWEGO_TOKEN, if set, still applies)')
    .action(async () => {
      const path = configPath(io);
      const saved = await readSession(path).catch(() => null);
      const removed = await removeSession(path);
      out(io, removed && saved ? `logged out of ${saved.url}` : 'not logged in');
    });

  program
    .command('whoami')
    .description('Show who you are logged in as, and your organizations')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const me = await (await openClient(io)).me();
      if (flags.json) return printJson(io, me);
      out(io, `${me.email}${me.is_platform_admin ? ' (platform admin)' : ''}`);
      printTable(
        io,
        ['org', 'role'],
        me.memberships.map((m) => [m.org_name, m.role]),
      );
    });
}
