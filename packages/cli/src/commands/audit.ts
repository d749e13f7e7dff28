import type { Command } from 'commander';
import { allPages } from '@shellwego/api-client';
import type { ApiClient, AuditEntry, AuditPage } from '@shellwego/api-client';
import { verifyAuditChain } from '@shellwego/core/audit';
import type { ChainVerification } from '@shellwego/core/audit';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { openClient } from '../session.js';
import { withSpinner } from '../spinner.js';

/** Every entry, with the head the server reported on the last page (the newest it knows). */
async function fetchLog(
  client: ApiClient,
  org: string | undefined,
): Promise<{ entries: AuditEntry[]; head: AuditPage['head'] }> {
  let head: AuditPage['head'] = { seq: 0, hash: '' };
  const entries = await allPages(async (cursor) => {
    const page = await client.audit.list({ org, cursor });
    head = page.head;
    return page;
  });
  return { entries, head };
}

/**
 * Recomputes the hash chain here rather than asking the server's /v1/audit/verify: a compromised server
 * would say yes. One retry, because an entry appended while we page makes the head move under us.
 */
async function verify(
  client: ApiClient,
  org: string | undefined,
): Promise<{ v: ChainVerification; head: string }> {
  let last: { v: ChainVerification; head: string } | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const { entries, head } = await fetchLog(client, org);
    last = { v: verifyAuditChain(entries, head), head: head.hash };
    if (last.v.ok) break;
  }
  if (!last) throw new Error('unreachable: no verification attempt ran');
  return last;
}

export function registerAudit(program: Command, io: Io): void {
  const audit = program.command('audit').description("An organization's tamper-evident audit log (admins)");

  audit
    .command('ls')
    .alias('list')
    .description('List audit entries, oldest first')
    .option('--org <org>', 'organization name or id (default: your first)')
    .option('--json', 'print a JSON array')
    .action(async (flags: { org?: string; json?: boolean }) => {
      const client = await openClient(io);
      const { entries } = await withSpinner(io, 'reading the audit log', () => fetchLog(client, flags.org));
      if (flags.json) return printJson(io, entries);
      printTable(
        io,
        ['seq', 'at', 'actor', 'action', 'resource', 'hash'],
        entries.map((e) => [
          String(e.seq),
          when(e.at),
          e.actor,
          e.action,
          `${e.resource}/${e.resource_id}`,
          e.hash.slice(0, 12),
        ]),
      );
    });

  audit
    .command('verify')
    .description(
      'Fetch the whole log and check its hash chain on this machine; exit 1 if it was tampered with',
    )
    .option('--org <org>', 'organization name or id (default: your first)')
    .option('--json', 'print the verification as JSON')
    .action(async (flags: { org?: string; json?: boolean }) => {
      const client = await openClient(io);
      const { v, head } = await withSpinner(io, 'verifying the audit log', () => verify(client, flags.org));
      if (flags.json) printJson(io, v);
      if (!v.ok) {
        throw new CliError(
          'AUDIT_CHAIN_BROKEN',
          `audit log verification failed: ${v.problem ?? 'unknown problem'}`,
        );
      }
      if (!flags.json) out(io, `audit log verified: ${v.entries} entries, head ${head.slice(0, 12)}`);
    });
}
