import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '@shellwego/core/audit';
import { freePort, startTestControlPlane } from '@shellwego/testkit';
import type { TestControlPlane } from '@shellwego/testkit';
import { ApiError, allPages, createClient } from './index.js';
import type { ApiClient, ClientOptions, TokenPair } from './index.js';

// Every client in this file is made by makeClient(), which records the first request each method sends,
// so the last test can hold the client and the OpenAPI document against each other.
const firstRequestOf = new Map<string, { method: string; path: string }>();
let calling: string | undefined;

function recordingFetch(): typeof fetch {
  return (input, init) => {
    if (calling !== undefined && !firstRequestOf.has(calling)) {
      const url = new URL(input instanceof Request ? input.url : String(input));
      firstRequestOf.set(calling, { method: init?.method ?? 'GET', path: url.pathname });
    }
    calling = undefined;
    return fetch(input, init);
  };
}

/** Wraps every method so that the request it sends synchronously is attributed to it. */
function tracked<T extends object>(target: T, prefix = ''): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      const name = prefix === '' ? String(key) : `${prefix}.${String(key)}`;
      if (typeof value === 'function') {
        return (...args: unknown[]): unknown => {
          calling = name;
          try {
            return (value as (...a: unknown[]) => unknown)(...args);
          } finally {
            calling = undefined;
          }
        };
      }
      if (typeof value === 'object' && value !== null) return tracked(value, name);
      return value;
    },
  });
}

function clientMethodNames(client: object, prefix = ''): string[] {
  return Object.entries(client).flatMap(([key, value]: [string, unknown]) => {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof value === 'function') return [name];
    if (typeof value === 'object' && value !== null) return clientMethodNames(value, name);
    return [];
  });
}

let cp: TestControlPlane;
let clockOffsetMs = 0;

function makeClient(opts: Partial<ClientOptions> = {}): ApiClient {
  return tracked(createClient({ baseUrl: cp.url, fetch: recordingFetch(), ...opts }));
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

let admin: ApiClient;

beforeAll(async () => {
  // A clock the tests can move forward, to let access tokens expire.
  cp = await startTestControlPlane({}, { now: () => new Date(Date.now() + clockOffsetMs) });
  admin = makeClient();
  await admin.auth.login({ email: cp.admin.email, password: cp.admin.password });
});

afterAll(async () => {
  await cp?.close();
});

describe('api-client against a real control plane', () => {
  it('logs in, adopts the pair, reports it to onTokens and reads /v1/me', async () => {
    const seen: TokenPair[] = [];
    const client = makeClient({ onTokens: (pair) => void seen.push(pair) });
    const pair = await client.auth.login({ email: cp.admin.email, password: cp.admin.password });
    expect(pair.token_type).toBe('Bearer');
    expect(seen).toEqual([pair]);
    expect(client.credentials()).toEqual({ token: pair.access_token, refreshToken: pair.refresh_token });

    const me = await client.me();
    expect(me.email).toBe(cp.admin.email);
    expect(me.memberships.map((m) => m.org_name)).toEqual([cp.admin.org]);

    const next = await client.auth.refresh();
    expect(next.refresh_token).not.toBe(pair.refresh_token);
    expect(seen).toHaveLength(2);

    const wrong = await rejection(client.auth.login({ email: cp.admin.email, password: 'nope-nope-nope' }));
    expect(wrong).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
  });

  it('invites, signs up, manages members', async () => {
    const org = await admin.orgs.create({ name: 'team-a' });
    expect(org).toMatchObject({ name: 'team-a', role: 'owner' });
    expect((await admin.orgs.list()).items.map((o) => o.name)).toEqual(
      expect.arrayContaining(['team-a', cp.admin.org]),
    );
    expect((await admin.orgs.get('team-a')).id).toBe(org.id);

    const invitation = await admin.invitations.create({ email: 'dev@example.com', org: 'team-a' });
    expect(invitation.role).toBe('developer');
    const newcomer = makeClient();
    const signup = await newcomer.auth.signup({
      email: 'dev@example.com',
      password: 'a-long-enough-password',
      invitation: invitation.token,
    });
    expect(signup.user.email).toBe('dev@example.com');
    expect((await newcomer.me()).memberships).toEqual([
      { org_id: org.id, org_name: 'team-a', role: 'developer' },
    ]);

    await newcomer.auth.signup({ email: 'ops@example.com', password: 'another-long-password' }).then(
      () => expect.fail('signup without an invitation must fail in invite mode'),
      (e: unknown) => expect(e).toMatchObject({ status: 403 }),
    );

    // addMember takes an existing account: the newcomer, into the admin's first org.
    const added = await admin.orgs.addMember(cp.admin.org, { email: 'dev@example.com', role: 'viewer' });
    expect(added).toMatchObject({ email: 'dev@example.com', role: 'viewer' });
    const promoted = await admin.orgs.setRole(cp.admin.org, added.user_id, 'admin');
    expect(promoted.role).toBe('admin');
    expect((await admin.orgs.members(cp.admin.org)).items.map((m) => m.email).sort()).toEqual([
      cp.admin.email,
      'dev@example.com',
    ]);
    await admin.orgs.removeMember(cp.admin.org, added.user_id);
    expect((await admin.orgs.members(cp.admin.org)).items).toHaveLength(1);
  });

  it('creates, lists, reads, changes and deletes an app', async () => {
    const app = await admin.apps.create({
      name: 'customer-blog',
      image: 'ghost:latest',
      runtime: 'container',
      env: { url: 'https://blog.customer.com' },
      resources: { memory: '256m', cpu: '0.5' },
      replicas: 1,
      port: 8080,
      domain: 'blog.customer.com',
      health_check: { path: '/', interval: '5s', timeout: '2s' },
    });
    expect(app).toMatchObject({ name: 'customer-blog', domains: ['blog.customer.com'], replicas: 1 });
    await admin.apps.create({ name: 'second-app' });

    const firstPage = await admin.apps.list({ limit: 1 });
    expect(firstPage.items).toHaveLength(1);
    expect(firstPage.next_cursor).not.toBeNull();
    const all = await allPages((cursor) => admin.apps.list({ limit: 1, cursor }));
    expect(all.map((a) => a.name)).toEqual(['customer-blog', 'second-app']);

    expect((await admin.apps.get('customer-blog')).id).toBe(app.id);
    expect((await admin.apps.get(app.id)).name).toBe('customer-blog');
    const scaled = await admin.apps.update('customer-blog', { replicas: 3 });
    expect(scaled.replicas).toBe(3);

    await admin.apps.delete('second-app');
    const gone = await rejection(admin.apps.get('second-app'));
    expect(gone).toMatchObject({ status: 404, code: 'APP_NOT_FOUND', message: 'app second-app not found' });
  });

  it('sets, lists and unsets secrets, and never gets a value back', async () => {
    await admin.apps.create({ name: 'with-secrets' });
    const s = await admin.secrets.set('with-secrets', 'DB_PASSWORD', 'hunter2-very-secret');
    expect(s).toMatchObject({ name: 'DB_PASSWORD', version: 1 });
    expect((await admin.secrets.set('with-secrets', 'DB_PASSWORD', 'rotated')).version).toBe(2);
    const listed = await admin.secrets.list('with-secrets');
    expect(listed.items.map((x) => x.name)).toEqual(['DB_PASSWORD']);
    expect(JSON.stringify(listed)).not.toContain('hunter2');
    await admin.secrets.unset('with-secrets', 'DB_PASSWORD');
    expect((await admin.secrets.list('with-secrets')).items).toEqual([]);
    const missing = await rejection(admin.secrets.unset('with-secrets', 'DB_PASSWORD'));
    expect(missing.code).toBe('SECRET_NOT_FOUND');
  });

  it('adds, lists and removes domains', async () => {
    await admin.apps.create({ name: 'with-domains' });
    const d = await admin.domains.add('with-domains', 'www.customer.example');
    expect(d).toMatchObject({ hostname: 'www.customer.example', tls_status: 'pending' });
    expect((await admin.domains.list('with-domains')).items.map((x) => x.hostname)).toEqual([
      'www.customer.example',
    ]);
    await admin.domains.remove('with-domains', 'www.customer.example');
    expect((await admin.domains.list('with-domains')).items).toEqual([]);
  });

  it('creates, lists, reads and deletes volumes; lists nodes', async () => {
    const v = await admin.volumes.create({ name: 'data', size: '1g' });
    expect(v).toMatchObject({ name: 'data', size_bytes: 1024 ** 3 });
    expect((await admin.volumes.list()).items.map((x) => x.name)).toEqual(['data']);
    expect((await admin.volumes.get('data')).id).toBe(v.id);
    await admin.volumes.delete('data');
    expect((await rejection(admin.volumes.get('data'))).code).toBe('VOLUME_NOT_FOUND');

    expect((await admin.nodes.list()).items).toEqual([]);
    expect((await rejection(admin.nodes.get('node-1'))).code).toBe('NODE_NOT_FOUND');
  });

  it('creates join tokens; a node registers, reports, heartbeats and reads its desired state', async () => {
    const jt = await admin.nodes.joinTokens.create({ ttl_hours: 1 });
    expect(jt.token).toMatch(/^swgj_/);
    expect((await admin.nodes.joinTokens.list()).items.map((t) => t.id)).toEqual([jt.id]);
    const { node_id, credential } = await makeClient().nodes.register({
      join_token: jt.token,
      name: 'node-a',
      runtimes: ['runc'],
      capacity: { memory_bytes: 1024 ** 3, cpu_milli: 2000, disk_bytes: 10 * 1024 ** 3 },
    });
    const node = makeClient({ token: credential });
    expect(await node.nodes.heartbeat(node_id)).toMatchObject({ status: 'ready' });
    const resources = {
      memory_total_bytes: 1024 ** 3,
      memory_used_bytes: 0,
      cpu_milli_total: 2000,
      cpu_milli_used: 0,
      disk_total_bytes: 10 * 1024 ** 3,
      disk_used_bytes: 0,
      instance_count: 0,
    };
    expect(await node.nodes.reportStatus(node_id, { instances: [], resources })).toMatchObject({
      status: 'ready',
    });
    expect(await node.nodes.desiredState(node_id)).toEqual({ revision: 0, instances: [] });
    expect((await admin.nodes.get('node-a')).status).toBe('ready');
    await admin.nodes.joinTokens.revoke(jt.id);
    expect((await admin.nodes.joinTokens.list()).items).toEqual([]);
  });

  it('deploys through a node that reports its instance healthy; cancels, rolls back, reads events and routes', async () => {
    const jt = await admin.nodes.joinTokens.create();
    const { node_id, credential } = await makeClient().nodes.register({
      join_token: jt.token,
      name: 'node-deploy',
      runtimes: ['container'],
      capacity: { memory_bytes: 8 * 1024 ** 3, cpu_milli: 4000, disk_bytes: 10 * 1024 ** 3 },
    });
    const node = makeClient({ token: credential });
    const resources = {
      memory_total_bytes: 8 * 1024 ** 3,
      memory_used_bytes: 0,
      cpu_milli_total: 4000,
      cpu_milli_used: 0,
      disk_total_bytes: 10 * 1024 ** 3,
      disk_used_bytes: 0,
      instance_count: 1,
    };
    // 2 GiB: more than the 1 GiB node of the test above offers, so the instance lands here.
    await admin.apps.create({ name: 'deployed', port: 8080, resources: { memory: '2g' } });
    const first = await admin.apps.deploy('deployed', { image: 'registry.test/deployed:v1' });
    expect(first).toMatchObject({ status: 'pending', release: 1 });
    // The node learns its instance from its desired state, then says it runs and is healthy.
    await expect.poll(async () => (await node.nodes.desiredState(node_id)).instances.length).toBe(1);
    const [wanted] = (await node.nodes.desiredState(node_id)).instances;
    expect(wanted?.spec).toMatchObject({
      image: 'registry.test/deployed:v1',
      port: 8080,
      app_name: 'deployed',
    });
    await node.nodes.reportStatus(node_id, {
      instances: [{ id: wanted!.id, state: 'running', health: 'healthy', address: '10.88.0.9' }],
      resources,
    });
    await expect.poll(async () => (await admin.deployments.get(first.id)).status).toBe('succeeded');
    expect(await admin.apps.get('deployed')).toMatchObject({
      status: 'running',
      release: { version: 1 },
      instances: [{ id: wanted!.id, address: '10.88.0.9:8080', routed: true }],
    });
    // No agent watches for this node here, so nobody answers the log request: no lines, and no long wait.
    const t0 = Date.now();
    expect(await admin.apps.logs('deployed', { tail: 10, instance: wanted!.id })).toEqual({ items: [] });
    expect(Date.now() - t0).toBeLessThan(3500);
    // The agent's log socket path answers a plain GET with 204 once the credential is the node's own.
    expect(await node.nodes.logSocket(node_id, 'logs_none')).toBeUndefined();
    const table = await admin.edgeRoutes();
    expect(await admin.edgeCaPem()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    // The default hostname under the local domain gets a local-CA certificate on demand.
    expect((await admin.edgeCertificates()).items.map((c) => c.hostname)).toContain('deployed.localhost');
    expect(table.routes.find((r) => r.hostname === 'deployed.localhost')?.upstreams).toEqual([
      { id: wanted!.id, address: '10.88.0.9:8080', weight: 100 },
    ]);

    const second = await admin.deployments.create({ app_id: 'deployed', image: 'registry.test/deployed:v2' });
    expect((await admin.deployments.cancel(second.id)).status).toBe('cancelled');
    expect((await rejection(admin.deployments.cancel(second.id))).code).toBe('DEPLOYMENT_FINISHED');
    expect((await admin.apps.deployments('deployed')).items.map((d) => d.status)).toEqual([
      'cancelled',
      'succeeded',
    ]);
    expect((await admin.apps.releases('deployed')).items.map((r) => [r.version, r.current])).toEqual([
      [2, false],
      [1, true],
    ]);
    // Per-app metrics: the traffic an edge reports comes back in the app's steps.
    await admin.edgeMetrics({
      apps: [
        {
          app: 'deployed',
          requests: 4,
          errors: 1,
          duration_ms_sum: 60,
          buckets: [0, 0, 4, ...new Array<number>(10).fill(0)],
        },
      ],
    });
    const metrics = await admin.apps.metrics('deployed', { window: '6h' });
    expect(metrics).toMatchObject({ window: '6h', step_seconds: 300 });
    expect(metrics.points).toHaveLength(72);
    expect(metrics.points.reduce((n, p) => n + p.requests, 0)).toBe(4);
    expect(metrics.points.reduce((n, p) => n + p.errors, 0)).toBe(1);
    // A window the server does not know (cast: the type allows only the known ones) names the field.
    expect((await rejection(admin.apps.metrics('deployed', { window: '2h' as '1h' }))).field).toBe('window');
    const back = await admin.apps.rollback('deployed', 1);
    expect(back).toMatchObject({ release: 3 });
    expect((await rejection(admin.apps.rollback('deployed', 99))).code).toBe('RELEASE_NOT_FOUND');
    const types = (await admin.events()).items.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['deployment.created', 'deployment.succeeded', 'deployment.cancelled']),
    );
  });

  it('uploads a wasm module once per content; a node gets only the modules placed on it', async () => {
    await admin.apps.create({ name: 'function', runtime: 'wasm' });
    const module = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const artifact = await admin.apps.uploadArtifact('function', module);
    expect(artifact).toMatchObject({ kind: 'wasm', size: 8 });
    expect(artifact.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await admin.apps.uploadArtifact('function', module)).toEqual(artifact);
    const { token } = await admin.nodes.joinTokens.create({});
    const { node_id, credential } = await makeClient().nodes.register({
      join_token: token,
      name: 'wasm-node',
      runtimes: ['wasm'],
      capacity: { memory_bytes: 2 ** 30, cpu_milli: 1000, disk_bytes: 2 ** 30 },
    });
    const node = makeClient({ token: credential });
    expect((await rejection(node.nodes.artifact(node_id, artifact.digest))).code).toBe('ARTIFACT_NOT_FOUND');
  });

  it('reads the branding without credentials; the first admin is asked to change the printed password', async () => {
    expect(await makeClient().branding()).toMatchObject({
      name: 'ShellWeGo',
      source: 'default',
      error: null,
    });
    expect(await admin.password.status()).toEqual({ must_change: true });
    const wrong = await rejection(
      admin.password.change({ current_password: 'not-it', new_password: 'another long password' }),
    );
    expect(wrong.status).toBe(400);
    // (A successful change is the dashboard's end-to-end test: later tests here log in with the first password.)
    expect(await admin.password.status()).toEqual({ must_change: true });
  });

  it('creates an API token that works as a bearer, lists and revokes it', async () => {
    const created = await admin.tokens.create({ name: 'ci', scopes: ['apps:read:*'] });
    expect(created.token).toMatch(/^swg_/);
    const ci = makeClient({ token: created.token });
    expect((await ci.apps.list()).items.length).toBeGreaterThan(0);
    const forbidden = await rejection(ci.apps.create({ name: 'not-allowed' }));
    expect(forbidden.status).toBe(403);

    const listed = await admin.tokens.list();
    expect(listed.items.map((x) => x.name)).toContain('ci');
    expect(JSON.stringify(listed)).not.toContain(created.token);
    await admin.tokens.revoke(created.id);
    expect((await rejection(ci.me())).status).toBe(401);
  });

  it('reads the audit log, whose chain verifies client-side, and the server verdict', async () => {
    const page = await admin.audit.list({ org: cp.admin.org, limit: 1000 });
    expect(page.items.length).toBeGreaterThan(3);
    expect(page.head.seq).toBe(page.items.at(-1)?.seq);
    expect(verifyAuditChain(page.items, page.head)).toMatchObject({ ok: true });
    expect(await admin.audit.verify({ org: cp.admin.org })).toMatchObject({ ok: true, problem: null });
  });

  it('reads health and the OpenAPI document without credentials', async () => {
    const anonymous = makeClient();
    expect(await anonymous.health()).toMatchObject({ status: 'ok', database: 'sqlite' });
    const doc = await anonymous.openapi();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/apps/{app}');
  });

  it('throws ApiError with the server code and field on bad input', async () => {
    const e = await rejection(admin.apps.create({ name: 'Bad_Name' }));
    expect(e).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'name' });
    expect(e.message).toMatch(/^name: /);
    const memory = await rejection(admin.apps.create({ name: 'ok-name', resources: { memory: '-1' } }));
    expect(memory).toMatchObject({ code: 'VALIDATION_FAILED', field: 'resources.memory' });
    const unauthenticated = await rejection(makeClient().me());
    expect(unauthenticated).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(unauthenticated.hint).toMatch(/shellwego login/);
  });

  it('encodes path parameters and refuses ones that would change the route', async () => {
    // A slash stays inside the segment, so this is "app a/b", not a route under /v1/apps/a.
    expect(await rejection(admin.apps.get('a/b'))).toMatchObject({ status: 404, code: 'APP_NOT_FOUND' });
    expect(await rejection(admin.apps.get('x?y=1'))).toMatchObject({ code: 'APP_NOT_FOUND' });
    for (const bad of ['', '.', '..', '%2e%2E']) {
      expect(await rejection(admin.apps.get(bad))).toMatchObject({ status: 0, code: 'VALIDATION_FAILED' });
    }
  });

  it('refreshes once on 401, reports the pair and retries; concurrent calls share one refresh', async () => {
    const seen: TokenPair[] = [];
    const client = makeClient({ onTokens: (pair) => void seen.push(pair) });
    const first = await client.auth.login({ email: cp.admin.email, password: cp.admin.password });
    clockOffsetMs += 16 * 60 * 1000; // past the 15 min access token lifetime
    try {
      const expired = await rejection(makeClient({ token: first.access_token }).me());
      expect(expired.status).toBe(401);

      const results = await Promise.all([client.me(), client.apps.list(), client.orgs.list()]);
      expect(results[0].email).toBe(cp.admin.email);
      expect(seen).toHaveLength(2);
      const refreshed = seen[1];
      expect(refreshed?.access_token).not.toBe(first.access_token);
      expect(client.credentials().token).toBe(refreshed?.access_token);
    } finally {
      clockOffsetMs -= 16 * 60 * 1000;
    }
  });

  it('surfaces a failed refresh instead of the 401 it tried to cure', async () => {
    const client = makeClient({ token: 'not-a-jwt', refreshToken: 'rt_not-a-real-one' });
    const e = await rejection(client.me());
    expect(e).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(e.message).toMatch(/refresh token/);
    expect(client.credentials().refreshToken).toBeUndefined();
  });

  it('names the URL when the server cannot be reached', async () => {
    const port = await freePort(); // nothing listens there any more
    const e = await rejection(createClient({ baseUrl: `http://127.0.0.1:${port}/` }).health());
    expect(e).toMatchObject({ status: 0, code: 'UNREACHABLE' });
    expect(e.message).toBe(`cannot reach http://127.0.0.1:${port}: connection refused`);
  });

  it('reports an answer that is not the API as BAD_RESPONSE', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const e = await rejection(createClient({ baseUrl: `http://127.0.0.1:${port}` }).health());
      expect(e).toMatchObject({ status: 502, code: 'BAD_RESPONSE' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('covers the OpenAPI document both ways: every method has a route, every route a method', async () => {
    const doc = await createClient({ baseUrl: cp.url }).openapi();
    const operations = Object.entries(doc.paths).flatMap(([template, ops]) =>
      Object.keys(ops).map((method) => ({
        op: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        // {app} matches one encoded segment.
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        params: (template.match(/\{/g) ?? []).length,
      })),
    );
    // Served outside the route table, so not in the document.
    const undocumented = new Set(['GET /v1/health', 'GET /v1/openapi.json']);

    const methods = clientMethodNames(createClient({ baseUrl: cp.url })).filter((m) => m !== 'credentials');
    const notExercised = methods.filter((m) => !firstRequestOf.has(m));
    expect(notExercised, 'client methods no test above called').toEqual([]);

    const covered = new Set<string>();
    const unknown: string[] = [];
    for (const name of methods) {
      const req = firstRequestOf.get(name);
      if (!req) continue;
      if (undocumented.has(`${req.method} ${req.path}`)) continue;
      // The literal route wins over a template (/v1/audit/verify is not /v1/audit/{x}).
      const match = operations
        .filter((o) => o.method === req.method && o.pattern.test(req.path))
        .sort((a, b) => a.params - b.params)[0];
      if (match) covered.add(match.op);
      else unknown.push(`${name}: ${req.method} ${req.path}`);
    }
    expect(unknown, 'client methods whose request is not in the OpenAPI document').toEqual([]);
    expect(
      operations.map((o) => o.op).filter((op) => !covered.has(op)),
      'documented routes no client method reaches',
    ).toEqual([]);
  });
});
