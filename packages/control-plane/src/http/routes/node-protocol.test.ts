import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { dialects } from '@shellwego/testkit/vitest';
import { uniq, useApi } from '../../test-api.js';
import type { Api } from '../../test-api.js';

type Created = { id: string; token: string; expires_at: string };
type Registered = { node_id: string; credential: string };
type NodeView = { id: string; status: string; last_heartbeat_at: string | null; org_id: string };

const capacity = { memory_bytes: 8 << 30, cpu_milli: 4000, disk_bytes: 100 << 30 };
const resources = {
  memory_total_bytes: 8 << 30,
  memory_used_bytes: 1 << 30,
  cpu_milli_total: 4000,
  cpu_milli_used: 250,
  disk_total_bytes: 100 << 30,
  disk_used_bytes: 1 << 30,
  instance_count: 1,
};

async function joinToken(api: Api, body: object = {}): Promise<Created> {
  const res = await api.call('POST', '/v1/nodes/join-tokens', { body });
  expect(res.status).toBe(201);
  return res.body as Created;
}

async function register(api: Api, token: string, name = uniq('node')): Promise<Registered> {
  const res = await api.call('POST', '/v1/nodes/register', {
    token: null,
    body: { join_token: token, name, runtimes: ['runc'], capacity },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Registered;
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8'))));
    ws.once('error', reject);
  });
}

function upgradeStatus(url: string, credential: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${credential}` } });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      ws.close();
      reject(new Error('upgrade unexpectedly accepted'));
    });
    ws.once('error', () => undefined);
  });
}

describe.each(dialects)('the node protocol on $name', ({ databaseUrl }) => {
  let offsetMs = 0;
  const api = useApi(databaseUrl, {}, { now: () => new Date(Date.now() + offsetMs) });

  it('creates, lists and deletes join tokens, shown once and stored hashed', async () => {
    const jt = await joinToken(api, { ttl_hours: 2, zone: 'eu-1' });
    expect(jt.token).toMatch(/^swgj_/);
    expect(Date.parse(jt.expires_at) - Date.now()).toBeGreaterThan(7100_000);
    const list = (await api.call('GET', '/v1/nodes/join-tokens')).body as { items: object[] };
    expect(list.items).toContainEqual(expect.objectContaining({ id: jt.id, zone: 'eu-1' }));
    expect(JSON.stringify(list)).not.toContain(jt.token);
    const row = await api.cp.controlPlane.store.db
      .selectFrom('join_tokens')
      .selectAll()
      .where('id', '=', jt.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).not.toContain(jt.token);

    const viewer = await api.member('viewer');
    expect((await api.call('POST', '/v1/nodes/join-tokens', { token: viewer.token, body: {} })).status).toBe(
      403,
    );
    expect((await api.call('DELETE', `/v1/nodes/join-tokens/${jt.id}`, { token: viewer.token })).status).toBe(
      403,
    );

    expect((await api.call('DELETE', `/v1/nodes/join-tokens/${jt.id}`)).status).toBe(204);
    expect((await api.call('DELETE', `/v1/nodes/join-tokens/${jt.id}`)).status).toBe(404);
    const after = (await api.call('GET', '/v1/nodes/join-tokens')).body as { items: { id: string }[] };
    expect(after.items.map((i) => i.id)).not.toContain(jt.id);

    const audit = (await api.call('GET', '/v1/audit')).body as {
      items: { action: string; resource_id: string }[];
    };
    const actions = audit.items.filter((e) => e.resource_id === jt.id).map((e) => e.action);
    expect(actions).toEqual(['join_token.create', 'join_token.delete']);
  });

  it('registers nodes with a valid token only, several per token, unique names', async () => {
    const jt = await joinToken(api, { zone: 'z1' });
    const name = uniq('n');
    const one = await register(api, jt.token, name);
    expect(one.node_id).toMatch(/^node_/);
    expect(one.credential).toMatch(/^swgn_/);
    await register(api, jt.token);
    const node = (await api.call('GET', `/v1/nodes/${one.node_id}`)).body as NodeView & { zone: string };
    expect(node).toMatchObject({ status: 'ready', zone: 'z1', capacity, runtimes: ['runc'] });

    const dup = await api.call('POST', '/v1/nodes/register', {
      token: null,
      body: { join_token: jt.token, name, runtimes: ['runc'], capacity },
    });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ error: { code: 'ALREADY_EXISTS' } });

    const attempt = (token: string) =>
      api.call('POST', '/v1/nodes/register', {
        token: null,
        body: { join_token: token, name: uniq('n'), runtimes: ['runc'], capacity },
      });
    for (const bad of ['garbage', 'swgj_not-a-real-token']) {
      const res = await attempt(bad);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code: 'JOIN_TOKEN_INVALID' } });
    }
    const revoked = await joinToken(api);
    await api.call('DELETE', `/v1/nodes/join-tokens/${revoked.id}`);
    expect((await attempt(revoked.token)).body).toMatchObject({ error: { code: 'JOIN_TOKEN_INVALID' } });

    const expiring = await joinToken(api, { ttl_hours: 1 });
    offsetMs = 3601_000;
    try {
      expect((await attempt(expiring.token)).body).toMatchObject({ error: { code: 'JOIN_TOKEN_INVALID' } });
    } finally {
      offsetMs = 0;
    }
  });

  it('lets a node credential report status and heartbeats for itself only', async () => {
    const jt = await joinToken(api);
    const a = await register(api, jt.token);
    const b = await register(api, jt.token);
    const asNode = { token: a.credential };

    const status = await api.call('POST', `/v1/nodes/${a.node_id}/status`, {
      ...asNode,
      body: { instances: [{ id: 'inst-1', state: 'running', health: 'healthy' }], resources },
    });
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ status: 'ready', revision: 0 });
    const hb = await api.call('POST', `/v1/nodes/${a.node_id}/heartbeat`, asNode);
    expect(hb.body).toEqual({ status: 'ready', revision: 0 });

    // Another node, by id, is not found; so is an unknown one.
    for (const path of [`/v1/nodes/${b.node_id}/heartbeat`, '/v1/nodes/node_nope/heartbeat']) {
      const res = await api.call('POST', path, asNode);
      expect(res.status).toBe(404);
    }
    const other = await api.call('POST', `/v1/nodes/${b.node_id}/status`, {
      ...asNode,
      body: { instances: [], resources },
    });
    expect(other.status).toBe(404);

    // A user token cannot use node routes; a node credential cannot use user routes.
    expect((await api.call('POST', `/v1/nodes/${a.node_id}/heartbeat`)).status).toBe(401);
    expect((await api.call('POST', `/v1/nodes/${a.node_id}/heartbeat`, { token: null })).status).toBe(401);
    expect((await api.call('POST', `/v1/nodes/${a.node_id}/heartbeat`, { token: 'swgn_bogus' })).status).toBe(
      401,
    );
    for (const path of ['/v1/nodes', `/v1/nodes/${a.node_id}`, '/v1/apps', '/v1/me']) {
      expect((await api.call('GET', path, asNode)).status, path).toBe(401);
    }
  });

  it('takes the capacity a status report announces (an agent restarted with CPU overcommit)', async () => {
    const jt = await joinToken(api);
    const a = await register(api, jt.token);
    const shared = { ...capacity, cpu_milli: 4 * capacity.cpu_milli };
    const res = await api.call('POST', `/v1/nodes/${a.node_id}/status`, {
      token: a.credential,
      body: { instances: [], resources, capacity: shared },
    });
    expect(res.status).toBe(200);
    const node = (await api.call('GET', `/v1/nodes/${a.node_id}`)).body as { capacity: object };
    expect(node.capacity).toEqual(shared);
    // A report without it (an older agent) leaves it as it was.
    await api.call('POST', `/v1/nodes/${a.node_id}/status`, {
      token: a.credential,
      body: { instances: [], resources },
    });
    expect(((await api.call('GET', `/v1/nodes/${a.node_id}`)).body as { capacity: object }).capacity).toEqual(
      shared,
    );
  });

  it('marks silent nodes unreachable after 30 s and ready again on a heartbeat', async () => {
    const jt = await joinToken(api);
    const n = await register(api, jt.token);
    const protocol = api.cp.controlPlane.services.nodeProtocol;
    const view = async (): Promise<NodeView> =>
      (await api.call('GET', `/v1/nodes/${n.node_id}`)).body as NodeView;
    const registeredAt = (await view()).last_heartbeat_at;
    expect(registeredAt).not.toBeNull();

    expect(await protocol.markUnreachable(new Date(Date.now() + 20_000))).not.toContain(n.node_id);
    expect((await view()).status).toBe('ready');
    expect(await protocol.markUnreachable(new Date(Date.now() + 31_000))).toContain(n.node_id);
    expect((await view()).status).toBe('unreachable');
    const listed = (await api.call('GET', '/v1/nodes')).body as { items: NodeView[] };
    expect(listed.items.find((i) => i.id === n.node_id)).toMatchObject({
      status: 'unreachable',
      last_heartbeat_at: registeredAt,
    });

    offsetMs = 40_000;
    try {
      const hb = await api.call('POST', `/v1/nodes/${n.node_id}/heartbeat`, { token: n.credential });
      expect(hb.body).toMatchObject({ status: 'ready' });
      const back = await view();
      expect(back.status).toBe('ready');
      expect(Date.parse(back.last_heartbeat_at ?? '')).toBeGreaterThan(Date.parse(registeredAt ?? ''));
    } finally {
      offsetMs = 0;
    }
    const audit = (await api.call('GET', '/v1/audit')).body as {
      items: { action: string; resource_id: string }[];
    };
    expect(audit.items.filter((e) => e.resource_id === n.node_id).map((e) => e.action)).toEqual([
      'node.register',
      'node.unreachable',
      'node.ready',
    ]);
    expect((await api.call('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('streams the full desired state over the watch WebSocket, on connect and on every change', async () => {
    const jt = await joinToken(api);
    const n = await register(api, jt.token);
    const other = await register(api, jt.token);
    const wsUrl = `${api.cp.url.replace(/^http/, 'ws')}/v1/nodes/${n.node_id}/watch`;

    expect(await upgradeStatus(wsUrl, 'swgn_bogus')).toBe(401);
    expect(await upgradeStatus(wsUrl, other.credential)).toBe(404);

    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${n.credential}` } });
    try {
      expect(await nextMessage(ws)).toEqual({ revision: 0, instances: [] });
      const changed = nextMessage(ws);
      expect(await api.cp.controlPlane.services.nodeProtocol.bumpRevision(n.node_id)).toBe(1);
      expect(await changed).toEqual({ revision: 1, instances: [] });
    } finally {
      ws.close();
    }
    // Without an upgrade, the route answers the desired state once.
    const plain = await api.call('GET', `/v1/nodes/${n.node_id}/watch`, { token: n.credential });
    expect(plain.body).toEqual({ revision: 1, instances: [] });
  });
});
