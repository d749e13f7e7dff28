import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { uniq, useApi } from '../../test-api.js';

type Pair = { access_token: string; refresh_token: string; expires_in: number };

describe.each(dialects)('auth on $name', ({ databaseUrl }) => {
  let offsetMs = 0;
  const api = useApi(databaseUrl, {}, { now: () => new Date(Date.now() + offsetMs) });

  it('logs in with the printed admin password, and refuses a wrong one', async () => {
    const ok = await api.call('POST', '/v1/auth/login', {
      token: null,
      body: { email: api.cp.admin.email, password: api.cp.admin.password },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    const bad = await api.call('POST', '/v1/auth/login', {
      token: null,
      body: { email: api.cp.admin.email, password: 'nope' },
    });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
  });

  it('answers 401 without, with garbage, and with expired credentials', async () => {
    expect((await api.call('GET', '/v1/apps', { token: null })).status).toBe(401);
    expect((await api.call('GET', '/v1/apps', { token: 'garbage' })).body).toMatchObject({
      error: { code: 'UNAUTHENTICATED' },
    });
    expect((await api.call('GET', '/v1/apps', { token: 'swg_not-a-real-token' })).status).toBe(401);
    const pair = (
      await api.call('POST', '/v1/auth/login', {
        token: null,
        body: { email: api.cp.admin.email, password: api.cp.admin.password },
      })
    ).body as Pair;
    expect((await api.call('GET', '/v1/me', { token: pair.access_token })).status).toBe(200);
    offsetMs = 16 * 60 * 1000;
    try {
      const expired = await api.call('GET', '/v1/me', { token: pair.access_token });
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } });
      // A refresh token outlives the access token.
      const fresh = await api.call('POST', '/v1/auth/refresh', {
        token: null,
        body: { refresh_token: pair.refresh_token },
      });
      expect(fresh.status).toBe(200);
      expect((await api.call('GET', '/v1/me', { token: (fresh.body as Pair).access_token })).status).toBe(
        200,
      );
    } finally {
      offsetMs = 0;
    }
  });

  it('rotates refresh tokens and revokes the family when one is replayed', async () => {
    const first = (
      await api.call('POST', '/v1/auth/login', {
        token: null,
        body: { email: api.cp.admin.email, password: api.cp.admin.password },
      })
    ).body as Pair;
    const second = await api.call('POST', '/v1/auth/refresh', {
      token: null,
      body: { refresh_token: first.refresh_token },
    });
    expect(second.status).toBe(200);
    const replay = await api.call('POST', '/v1/auth/refresh', {
      token: null,
      body: { refresh_token: first.refresh_token },
    });
    expect(replay.status).toBe(401);
    // The thief's replay also kills the legitimate successor.
    const successor = await api.call('POST', '/v1/auth/refresh', {
      token: null,
      body: { refresh_token: (second.body as Pair).refresh_token },
    });
    expect(successor.status).toBe(401);
  });

  it('issues swg_ API tokens shown once, stored hashed, limited by scopes, revocable', async () => {
    const name = uniq('tok');
    await api.call('POST', '/v1/apps', { body: { name } });
    const created = await api.call('POST', '/v1/tokens', { body: { name: 'ci', scopes: ['apps:read:*'] } });
    expect(created.status).toBe(201);
    const { token, id } = created.body as { token: string; id: string };
    expect(token).toMatch(/^swg_/);
    const listed = await api.call('GET', '/v1/tokens');
    expect(JSON.stringify(listed.body)).not.toContain(token);

    expect((await api.call('GET', `/v1/apps/${name}`, { token })).status).toBe(200);
    const write = await api.call('PATCH', `/v1/apps/${name}`, { token, body: { replicas: 2 } });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const escalate = await api.call('POST', '/v1/tokens', {
      token,
      body: { name: 'wider', scopes: ['apps:write:*'] },
    });
    expect(escalate.status).toBe(403);

    expect((await api.call('DELETE', `/v1/tokens/${id}`)).status).toBe(204);
    expect((await api.call('GET', `/v1/apps/${name}`, { token })).status).toBe(401);
  });

  it('enforces roles: viewers read, developers deploy, admins manage members', async () => {
    const viewer = await api.member('viewer');
    const dev = await api.member('developer');
    const admin = await api.member('admin');
    const name = uniq('roles');

    const byViewer = await api.call('POST', '/v1/apps', { token: viewer.token, body: { name } });
    expect(byViewer.status).toBe(403);
    expect((await api.call('POST', '/v1/apps', { token: dev.token, body: { name } })).status).toBe(201);
    expect((await api.call('GET', `/v1/apps/${name}`, { token: viewer.token })).status).toBe(200);
    expect(
      (await api.call('PUT', `/v1/apps/${name}/secrets/K`, { token: viewer.token, body: { value: 'v' } }))
        .status,
    ).toBe(403);

    expect((await api.call('GET', '/v1/audit', { token: dev.token })).status).toBe(403);
    expect((await api.call('GET', '/v1/audit', { token: admin.token })).status).toBe(200);
    const invite = await api.call('POST', '/v1/invitations', {
      token: dev.token,
      body: { email: 'x@example.com', org: api.cp.admin.org, role: 'viewer' },
    });
    expect(invite.status).toBe(403);
    const ownerByAdmin = await api.call('PATCH', `/v1/orgs/${api.cp.admin.org}/members/${dev.userId}`, {
      token: admin.token,
      body: { role: 'owner' },
    });
    expect(ownerByAdmin.status).toBe(403);
    const promote = await api.call('PATCH', `/v1/orgs/${api.cp.admin.org}/members/${viewer.userId}`, {
      token: admin.token,
      body: { role: 'developer' },
    });
    expect(promote.status).toBe(200);
    expect(
      (await api.call('PATCH', `/v1/apps/${name}`, { token: viewer.token, body: { replicas: 2 } })).status,
    ).toBe(200);
  });

  it('never leaves an organization without an owner', async () => {
    const me = (await api.call('GET', '/v1/me')).body as { id: string };
    const res = await api.call('DELETE', `/v1/orgs/${api.cp.admin.org}/members/${me.id}`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: { code: 'LAST_OWNER' } });
  });

  it('creates organizations whose owner is the caller', async () => {
    const name = uniq('org');
    const res = await api.call('POST', '/v1/orgs', { body: { name } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name, role: 'owner' });
    const orgs = (await api.call('GET', '/v1/orgs')).body as { items: { name: string }[] };
    expect(orgs.items.map((o) => o.name)).toContain(name);
    const app = await api.call('POST', '/v1/apps', { body: { name: uniq('in-org'), org: name } });
    expect(app.status).toBe(201);
    expect((await api.call('POST', '/v1/orgs', { body: { name } })).status).toBe(409);
  });
});

describe.each(['open', 'invite', 'closed'] as const)('signup when %s', (mode) => {
  const api = useApi(() => Promise.resolve(undefined), { signup: mode });

  it('allows exactly what the mode says', async () => {
    const email = `${uniq('s')}@example.com`;
    const plain = await api.call('POST', '/v1/auth/signup', {
      token: null,
      body: { email, password: 'long enough pw' },
    });
    if (mode === 'open') {
      expect(plain.status).toBe(201);
      const token = (plain.body as { tokens: Pair }).tokens.access_token;
      const orgs = (await api.call('GET', '/v1/orgs', { token })).body as { items: { role: string }[] };
      expect(orgs.items).toEqual([expect.objectContaining({ role: 'owner' })]);
      const again = await api.call('POST', '/v1/auth/signup', {
        token: null,
        body: { email, password: 'long enough pw' },
      });
      expect(again.status).toBe(409);
    } else {
      expect(plain.status).toBe(403);
      expect(plain.body).toMatchObject({
        error: { code: mode === 'closed' ? 'SIGNUP_CLOSED' : 'INVITATION_INVALID' },
      });
    }
    const inv = await api.call('POST', '/v1/invitations', {
      body: { email, org: api.cp.admin.org, role: 'viewer' },
    });
    const invitation = (inv.body as { token: string }).token;
    const withInvite = await api.call('POST', '/v1/auth/signup', {
      token: null,
      body: { email: `other-${email}`, password: 'long enough pw', invitation },
    });
    // The invitation is for another e-mail (and closed refuses anyway).
    expect(withInvite.status).toBe(403);
    if (mode !== 'open') {
      const right = await api.call('POST', '/v1/auth/signup', {
        token: null,
        body: { email, password: 'long enough pw', invitation },
      });
      expect(right.status).toBe(mode === 'closed' ? 403 : 201);
      const reuse = await api.call('POST', '/v1/auth/signup', {
        token: null,
        body: { email, password: 'long enough pw', invitation },
      });
      expect(reuse.status).toBeGreaterThanOrEqual(403);
    }
  });
});
