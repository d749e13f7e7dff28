import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { newId } from '@shellwego/core';
import { routeTable } from './routes/index.js';
import { uniq, useApi } from '../test-api.js';

/**
 * The tenant-isolation matrix: for every route of the table, a caller from organization A aims at
 * organization B's resources. Reads must answer 404 (as if B's rows did not exist), writes 404 or
 * 403, and listings must not show B's rows. Routes with path parameters are attacked automatically
 * with B's values; a route with a body or no path parameter needs an entry in `attacks`, and the
 * test fails until it has one, so a new endpoint cannot slip through.
 */
interface Fixture {
  org: string;
  orgId: string;
  userId: string;
  app: string;
  appId: string;
  secret: string;
  domain: string;
  volume: string;
  node: string;
  tokenId: string;
  joinToken: string;
  deployment: string;
}

type Attack =
  | { expect: 'denied'; query?: (b: Fixture) => string; body?: (b: Fixture) => unknown; also?: number[] }
  | { expect: 'excludes'; query?: (b: Fixture) => string };

const attacks: Record<string, Attack> = {
  'GET /v1/me': { expect: 'excludes' },
  'GET /v1/me/password': { expect: 'excludes' },
  'POST /v1/me/password': {
    expect: 'denied',
    body: () => ({ current_password: 'not-the-password', new_password: 'long-enough-password' }),
    also: [400],
  },
  'POST /v1/tokens': { expect: 'denied', body: (b) => ({ name: 'steal', org: b.org }) },
  'GET /v1/tokens': { expect: 'excludes' },
  // Org names are global (they become hostnames): a taken name is a conflict, which grants nothing.
  'POST /v1/orgs': { expect: 'denied', body: (b) => ({ name: b.org }), also: [409] },
  'GET /v1/orgs': { expect: 'excludes' },
  'POST /v1/orgs/:org/members': {
    expect: 'denied',
    body: () => ({ email: 'nobody@example.com', role: 'owner' }),
  },
  'PATCH /v1/orgs/:org/members/:user': { expect: 'denied', body: () => ({ role: 'viewer' }) },
  'POST /v1/invitations': {
    expect: 'denied',
    body: (b) => ({ email: 'spy@example.com', org: b.org, role: 'owner' }),
  },
  'POST /v1/apps': { expect: 'denied', body: (b) => ({ name: uniq('intruder'), org: b.org }) },
  'GET /v1/apps': { expect: 'excludes' },
  'PATCH /v1/apps/:app': { expect: 'denied', body: () => ({ replicas: 0, env: { HACKED: '1' } }) },
  'PUT /v1/apps/:app/secrets/:name': { expect: 'denied', body: () => ({ value: 'overwritten' }) },
  'POST /v1/apps/:app/domains': { expect: 'denied', body: () => ({ hostname: `${uniq('x')}.example.net` }) },
  'POST /v1/volumes': { expect: 'denied', body: (b) => ({ name: uniq('v'), size: '1g', app: b.app }) },
  'GET /v1/volumes': { expect: 'excludes' },
  'GET /v1/nodes': { expect: 'excludes' },
  'POST /v1/nodes/join-tokens': { expect: 'denied', body: (b) => ({ org: b.org }) },
  'GET /v1/nodes/join-tokens': { expect: 'excludes' },
  // Node routes are attacked with a node credential of A (a user token is refused outright).
  'POST /v1/nodes/:node/status': {
    expect: 'denied',
    body: () => ({
      instances: [],
      resources: {
        memory_total_bytes: 1,
        memory_used_bytes: 0,
        cpu_milli_total: 1,
        cpu_milli_used: 0,
        disk_total_bytes: 1,
        disk_used_bytes: 0,
        instance_count: 0,
      },
    }),
  },
  'POST /v1/apps/:app/deployments': { expect: 'denied', body: () => ({ image: 'evil:latest' }) },
  'POST /v1/apps/:app/artifacts': {
    expect: 'denied',
    body: () => ({ content_base64: Buffer.from('\0asm\x01\0\0\0', 'latin1').toString('base64') }),
  },
  'POST /v1/deployments': { expect: 'denied', body: (b) => ({ app_id: b.appId, image: 'evil:latest' }) },
  'POST /v1/apps/:app/rollback': { expect: 'denied', body: () => ({}) },
  'GET /v1/events': { expect: 'excludes', query: () => '?since=0' },
  // The route table is the operator's: any tenant is refused, whatever the org.
  'GET /v1/edge/routes': { expect: 'denied', also: [403] },
  // Every tenant's certificates and keys: the operator's only.
  'GET /v1/edge/certificates': { expect: 'denied', also: [403] },
  // Traffic reports are the operator's edges' only: a tenant could otherwise inflate another org's metrics.
  'POST /v1/edge/metrics': {
    expect: 'denied',
    body: (b) => ({
      apps: [{ app: b.app, requests: 1, errors: 1, duration_ms_sum: 1, buckets: new Array(13).fill(0) }],
    }),
    also: [403],
  },
  'GET /v1/audit': { expect: 'denied', query: (b) => `?org=${b.org}` },
  'GET /v1/audit/verify': { expect: 'denied', query: (b) => `?org=${b.org}` },
};

const paramValue: Record<string, (b: Fixture) => string> = {
  org: (b) => b.org,
  user: (b) => b.userId,
  app: (b) => b.app,
  name: (b) => b.secret,
  domain: (b) => b.domain,
  volume: (b) => b.volume,
  node: (b) => b.node,
  id: (b) => b.tokenId,
  join_token: (b) => b.joinToken,
  deployment: (b) => b.deployment,
  // Log requests live in memory only; B's node path is refused before any request is looked up.
  request: () => 'logs_none',
  // Any module: B's node path is refused before the digest is looked up.
  digest: () => `sha256:${'0'.repeat(64)}`,
};

const nodeBody = {
  runtimes: ['runc'],
  capacity: { memory_bytes: 1 << 30, cpu_milli: 1000, disk_bytes: 1 << 30 },
};

describe.each(dialects)('tenant isolation on $name', ({ databaseUrl }) => {
  const api = useApi(databaseUrl, { signup: 'open' });

  async function signup(): Promise<{ token: string; userId: string; org: string; orgId: string }> {
    const email = `${uniq('tenant')}@example.com`;
    const res = await api.call('POST', '/v1/auth/signup', {
      token: null,
      body: { email, password: 'tenant password' },
    });
    const body = res.body as { user: { id: string }; tokens: { access_token: string } };
    const token = body.tokens.access_token;
    const orgs = (await api.call('GET', '/v1/orgs', { token })).body as {
      items: { id: string; name: string }[];
    };
    return { token, userId: body.user.id, org: orgs.items[0]!.name, orgId: orgs.items[0]!.id };
  }

  async function fixtureOf(b: {
    token: string;
    userId: string;
    org: string;
    orgId: string;
  }): Promise<Fixture> {
    const app = uniq('b-app');
    const domain = `${app}.example.com`;
    const created = await api.call('POST', '/v1/apps', {
      token: b.token,
      body: { name: app, domain, env: { KEEP: 'me' } },
    });
    expect(created.status).toBe(201);
    await api.call('PUT', `/v1/apps/${app}/secrets/B_SECRET`, { token: b.token, body: { value: 'b-only' } });
    const volume = uniq('b-vol');
    await api.call('POST', '/v1/volumes', { token: b.token, body: { name: volume, size: '1g', app } });
    const tok = await api.call('POST', '/v1/tokens', { token: b.token, body: { name: 'b' } });
    const node = newId('node');
    await api.cp.controlPlane.store.db
      .insertInto('nodes')
      .values({
        id: node,
        org_id: b.orgId,
        name: uniq('b-node'),
        status: 'ready',
        runtimes: '["runc"]',
        zone: null,
        memory_bytes: 1 << 30,
        cpu_milli: 2000,
        disk_bytes: 1 << 30,
        last_heartbeat_at: null,
        created_at: new Date().toISOString(),
      })
      .execute();
    const jt = await api.call('POST', '/v1/nodes/join-tokens', { token: b.token, body: {} });
    expect(jt.status).toBe(201);
    const dep = await api.call('POST', `/v1/apps/${app}/deployments`, {
      token: b.token,
      body: { image: 'b:v1' },
    });
    expect(dep.status).toBe(202);
    return {
      deployment: (dep.body as { id: string }).id,
      joinToken: (jt.body as { id: string }).id,
      org: b.org,
      orgId: b.orgId,
      userId: b.userId,
      app,
      appId: (created.body as { id: string }).id,
      secret: 'B_SECRET',
      domain,
      volume,
      node,
      tokenId: (tok.body as { id: string }).id,
    };
  }

  it('keeps every route of organization B out of reach of organization A', async () => {
    const a = await signup();
    const b = await signup();
    const fx = await fixtureOf(b);
    const bValues = [
      fx.orgId,
      fx.appId,
      fx.app,
      fx.volume,
      fx.node,
      fx.tokenId,
      fx.domain,
      b.userId,
      fx.joinToken,
      fx.deployment,
    ];
    // A's own node, whose credential attacks B's node routes.
    const aJoin = await api.call('POST', '/v1/nodes/join-tokens', { token: a.token, body: {} });
    const aNode = await api.call('POST', '/v1/nodes/register', {
      token: null,
      body: { ...nodeBody, join_token: (aJoin.body as { token: string }).token, name: uniq('a-node') },
    });
    expect(aNode.status).toBe(201);
    const aNodeCredential = (aNode.body as { credential: string }).credential;
    const problems: string[] = [];
    let attacked = 0;

    for (const route of routeTable) {
      if (route.access === 'public') continue;
      const key = `${route.method} ${route.url}`;
      const params = [...route.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
      const fallback: Attack | undefined =
        params.length > 0 && !route.body ? { expect: 'denied' } : undefined;
      const attack = attacks[key] ?? fallback;
      if (!attack) {
        problems.push(`${key}: no attack defined; add one to the isolation matrix`);
        continue;
      }
      let path = route.url;
      for (const p of params) {
        const value = paramValue[p];
        if (!value) {
          problems.push(`${key}: no value of B for path parameter :${p}; add it to paramValue`);
          continue;
        }
        path = path.replace(`:${p}`, encodeURIComponent(value(fx)));
      }
      if (attack.query) path += attack.query(fx);
      const body = attack.expect === 'denied' && attack.body ? attack.body(fx) : undefined;
      const res = await api.call(route.method, path, {
        token: route.access === 'node' ? aNodeCredential : a.token,
        ...(body === undefined ? {} : { body }),
      });
      attacked++;
      if (attack.expect === 'excludes') {
        const text = JSON.stringify(res.body);
        if (res.status !== 200) problems.push(`${key}: expected 200 listing, got ${res.status}`);
        for (const v of bValues) if (text.includes(v)) problems.push(`${key}: shows B's ${v}`);
      } else {
        const allowed = [...(route.method === 'GET' ? [404] : [404, 403]), ...(attack.also ?? [])];
        if (!allowed.includes(res.status)) {
          problems.push(
            `${key} as ${path}: expected ${allowed.join('/')}, got ${res.status} ${JSON.stringify(res.body)}`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
    expect(attacked).toBeGreaterThan(20);

    // B's rows are untouched and B still sees them.
    const app = await api.call('GET', `/v1/apps/${fx.app}`, { token: b.token });
    expect(app.body).toMatchObject({ env: { KEEP: 'me' }, replicas: 1, domains: [fx.domain] });
    const secrets = await api.call('GET', `/v1/apps/${fx.app}/secrets`, { token: b.token });
    expect(secrets.body).toMatchObject({ items: [{ name: 'B_SECRET', version: 1 }] });
    expect((await api.call('GET', `/v1/volumes/${fx.volume}`, { token: b.token })).status).toBe(200);
    expect((await api.call('GET', `/v1/nodes/${fx.node}`, { token: b.token })).status).toBe(200);
    const verify = await api.call('GET', '/v1/audit/verify', { token: b.token });
    expect(verify.body).toMatchObject({ ok: true });
  });
});
