import { useState } from 'react';
import type { AuditEntry } from '@shellwego/api-client';
import { usePageTitle, useSession } from '../context.js';
import { useAsync } from '../lib/hooks.js';
import { ErrorNote, Loading, TableWrap } from '../components/ui.js';

export function AuditPage() {
  usePageTitle('Audit log');
  const { client, org, isAdmin } = useSession();
  const verification = useAsync(() => client.audit.verify({ org: org.org_id }), [client, org.org_id]);
  const [pages, setPages] = useState<{ items: AuditEntry[]; next: string | null } | null>(null);
  const first = useAsync(async () => {
    const p = await client.audit.list({ org: org.org_id, limit: 50 });
    setPages({ items: p.items, next: p.next_cursor });
    return p;
  }, [client, org.org_id]);
  const [error, setError] = useState<unknown>(undefined);
  const more = (): void => {
    if (!pages?.next) return;
    client.audit.list({ org: org.org_id, limit: 50, cursor: pages.next }).then(
      (p) => setPages({ items: [...pages.items, ...p.items], next: p.next_cursor }),
      (e: unknown) => setError(e),
    );
  };
  if (!isAdmin) return <p>The audit log is for administrators.</p>;
  const v = verification.data;
  return (
    <section>
      <h1>Audit log of {org.org_name}</h1>
      <ErrorNote error={verification.error ?? first.error ?? error} />
      {v ? (
        v.ok ? (
          <p className="note note-ok" role="status" data-audit-ok="true">
            <span aria-hidden="true">✓</span> Chain verified: {v.entries} entries, each hash-linked to the one
            before.
          </p>
        ) : (
          <p className="note note-error" role="alert" data-audit-ok="false">
            <span aria-hidden="true">✕</span> The chain does not verify
            {v.first_bad_seq !== null ? ` at entry ${v.first_bad_seq}` : ''}: {v.problem ?? 'unknown problem'}
          </p>
        )
      ) : (
        <Loading what="the verification" />
      )}
      {pages === null ? (
        <Loading what="entries" />
      ) : (
        <>
          <TableWrap label="Audit entries">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Hash</th>
                </tr>
              </thead>
              <tbody>
                {pages.items.map((e) => (
                  <tr key={e.seq}>
                    <th scope="row">{e.seq}</th>
                    <td>
                      <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time>
                    </td>
                    <td>{e.actor}</td>
                    <td className="mono">{e.action}</td>
                    <td className="mono">
                      {e.resource} {e.resource_id}
                    </td>
                    <td className="mono" title={`previous ${e.prev_hash}`}>
                      {e.hash.slice(0, 12)}…
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          {pages.next ? (
            <button type="button" className="secondary" onClick={more}>
              Load older entries
            </button>
          ) : null}
        </>
      )}
    </section>
  );
}
