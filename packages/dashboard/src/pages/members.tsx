import { useState } from 'react';
import type { FormEvent } from 'react';
import type { Role } from '@shellwego/api-client';
import { usePageTitle, useSession } from '../context.js';
import { useAsync } from '../lib/hooks.js';
import { relativeTime } from '../lib/format.js';
import { ErrorNote, Field, Loading, ShownOnce, TableWrap } from '../components/ui.js';

const roles: readonly Role[] = ['owner', 'admin', 'developer', 'viewer'];

export function MembersPage() {
  usePageTitle('Members');
  const { client, org, isAdmin, me, switchOrg } = useSession();
  const members = useAsync(async () => (await client.orgs.members(org.org_id)).items, [client, org.org_id]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const [invite, setInvite] = useState<string | null>(null);
  const [orgName, setOrgName] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const fail = (err: unknown): void => setError(err);
  const add = (e: FormEvent): void => {
    e.preventDefault();
    setError(undefined);
    setInvite(null);
    client.orgs.addMember(org.org_id, { email: email.trim(), role }).then(
      () => {
        setEmail('');
        members.reload();
      },
      (err: unknown) => {
        // Not a user yet: invite them instead.
        if (err instanceof Error && 'code' in err && err.code === 'USER_NOT_FOUND') {
          client.invitations
            .create({ email: email.trim(), org: org.org_id, role })
            .then((inv) => setInvite(`${window.location.origin}/ invitation token: ${inv.token}`), fail);
        } else fail(err);
      },
    );
  };
  const setMemberRole = (userId: string, r: Role): void => {
    client.orgs.setRole(org.org_id, userId, r).then(members.reload, fail);
  };
  const remove = (userId: string, who: string): void => {
    if (!window.confirm(`Remove ${who} from ${org.org_name}?`)) return;
    client.orgs.removeMember(org.org_id, userId).then(members.reload, fail);
  };
  const createOrg = (e: FormEvent): void => {
    e.preventDefault();
    setError(undefined);
    client.orgs.create({ name: orgName.trim() }).then((o) => {
      setOrgName('');
      // The new organization appears in the switcher after the account reloads.
      switchOrg(o.id);
      window.location.reload();
    }, fail);
  };
  return (
    <section>
      <h1>Members of {org.org_name}</h1>
      <ErrorNote error={error ?? members.error} />
      {members.data === undefined ? (
        <Loading what="members" />
      ) : (
        <TableWrap label="Members">
          <table>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.map((m) => (
                <tr key={m.user_id}>
                  <th scope="row">{m.email}</th>
                  <td>
                    {isAdmin && m.user_id !== me.id ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) => setMemberRole(m.user_id, e.target.value as Role)}
                      >
                        {roles.map((r) => (
                          <option key={r}>{r}</option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>{relativeTime(m.created_at)}</td>
                  <td>
                    {isAdmin && m.user_id !== me.id ? (
                      <button type="button" className="danger" onClick={() => remove(m.user_id, m.email)}>
                        Remove
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {isAdmin ? (
        <>
          <h2>Add a member</h2>
          <p className="muted">Someone without an account yet gets an invitation token to sign up with.</p>
          <form onSubmit={add} className="inline-form">
            <Field label="E-mail">
              {(id) => (
                <input
                  id={id}
                  type="email"
                  required
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                />
              )}
            </Field>
            <Field label="Role">
              {(id) => (
                <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                  {roles.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              )}
            </Field>
            <button type="submit">Add</button>
          </form>
          {invite ? <ShownOnce title="Give this invitation to the new member." value={invite} /> : null}
        </>
      ) : null}
      <h2>New organization</h2>
      <form onSubmit={createOrg} className="inline-form">
        <Field label="Name" hint="Lower-case letters, digits and hyphens.">
          {(id, hint) => (
            <input
              id={id}
              required
              pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
              aria-describedby={hint}
              value={orgName}
              onChange={(e) => setOrgName(e.target.value)}
            />
          )}
        </Field>
        <button type="submit">Create organization</button>
      </form>
    </section>
  );
}
