import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { schemas } from '@shellwego/core';
import type { LogLine, LogRequest } from '@shellwego/core';
import { uniq, useApi } from '../test-api.js';
import type { Api } from '../test-api.js';

const capacity = { memory_bytes: 8 * 1024 ** 3, cpu_milli: 4000, disk_bytes: 100 * 1024 ** 3 };

/**
 * Plays the agent's side of the log tunnel over the real protocol: it reads its watch, and answers each log request
 * by dialling /v1/nodes/{node}/logs/{id} and sending the tail of `history` (then, with follow, a line every 50 ms).
 */
interface FakeNode {
  nodeId: string;
  credential: string;
  /** `answer` (default): serve requests; `ignore`: read them and never attach. */
  mode: 'answer' | 'ignore';
  requests: LogRequest[];
  /** How each log socket was closed by the control plane, in order. */
  closes: number[];
  close(): void;
}

function wsUrl(api: Api, path: string): string {
  return `${api.cp.url.replace(/^http/, 'ws')}${path}`;
}

async function startFakeNode(api: Api, history: string[]): Promise<FakeNode> {
  const jt = await api.call('POST', '/v1/nodes/join-tokens', { body: {} });
  const reg = await api.call('POST', '/v1/nodes/register', {
    token: null,
    body: {
      join_token: (jt.body as { token: string }).token,
      name: uniq('logs-node'),
      runtimes: ['runc'],
      capacity,
    },
  });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  const { node_id: nodeId, credential } = reg.body as { node_id: string; credential: string };
  const headers = { authorization: `Bearer ${credential}` };
  const sockets = new Set<WebSocket>();
  const node: FakeNode = {
    nodeId,
    credential,
    mode: 'answer',
    requests: [],
    closes: [],
    close: () => {
      for (const s of sockets) s.terminate();
    },
  };
  const answer = (request: LogRequest): void => {
    const ws = new WebSocket(wsUrl(api, `/v1/nodes/${nodeId}/logs/${request.id}`), { headers });
    sockets.add(ws);
    let timer: NodeJS.Timeout | undefined;
    const line = (text: string): string =>
      JSON.stringify({
        instance_id: request.instance_id,
        stream: 'stdout',
        line: text,
        at: new Date().toISOString(),
      });
    ws.on('open', () => {
      for (const text of history.slice(-request.tail)) ws.send(line(text));
      if (!request.follow) return ws.close(1000, 'end of tail');
      let n = 0;
      timer = setInterval(() => ws.send(line(`live ${String(++n)}`)), 50);
    });
    ws.on('close', (code) => {
      clearInterval(timer);
      sockets.delete(ws);
      node.closes.push(code);
    });
    ws.on('error', () => undefined);
  };
  const watch = new WebSocket(wsUrl(api, `/v1/nodes/${nodeId}/watch`), { headers });
  sockets.add(watch);
  watch.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { type?: string };
    if (message.type !== 'logs') return;
    const request = schemas.logRequest.parse(message);
    node.requests.push(request);
    if (node.mode === 'answer') answer(request);
  });
  await new Promise((resolve, reject) => {
    watch.once('open', resolve);
    watch.once('error', reject);
  });
  return node;
}

/** Opens the app's log WebSocket as `token`; collects lines until the server closes it. */
function openLogs(
  api: Api,
  path: string,
  token: string,
): { lines: LogLine[]; socket: WebSocket; closed: Promise<{ code: number; status?: number }> } {
  const socket = new WebSocket(wsUrl(api, path), { headers: { authorization: `Bearer ${token}` } });
  const lines: LogLine[] = [];
  socket.on('message', (data: Buffer) =>
    lines.push(schemas.logLine.parse(JSON.parse(data.toString('utf8')))),
  );
  const closed = new Promise<{ code: number; status?: number }>((resolve) => {
    socket.once('unexpected-response', (_req, res) => {
      resolve({ code: 0, status: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.on('close', (code) => resolve({ code }));
    socket.on('error', () => undefined);
  });
  return { lines, socket, closed };
}

describe('app logs through the node tunnel', () => {
  const api = useApi(() => Promise.resolve(undefined), { signup: 'open' });
  const history = ['booting', 'listening on 8080', 'GET / 200'];
  let node: FakeNode;
  let app: string;
  let instanceId = '';

  beforeAll(async () => {
    node = await startFakeNode(api, history);
    app = uniq('logged');
    expect((await api.call('POST', '/v1/apps', { body: { name: app, port: 8080 } })).status).toBe(201);
    const dep = await api.call('POST', `/v1/apps/${app}/deployments`, {
      body: { image: 'registry.test/logged:v1' },
    });
    expect(dep.status, JSON.stringify(dep.body)).toBe(202);
    // Placement runs in the background: the instance shows in the node's desired state once placed.
    const deadline = Date.now() + 10_000;
    while (instanceId === '') {
      const state = await api.call('GET', `/v1/nodes/${node.nodeId}/watch`, { token: node.credential });
      instanceId = (state.body as { instances: { id: string }[] }).instances[0]?.id ?? '';
      if (instanceId === '' && Date.now() > deadline)
        throw new Error(
          `the instance was never placed: ${JSON.stringify((await api.call('GET', `/v1/deployments/${(dep.body as { id: string }).id}`)).body)}`,
        );
      if (instanceId === '') await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(() => node?.close());

  it('answers a plain GET with the tail of every instance', async () => {
    const res = await api.call('GET', `/v1/apps/${app}/logs?tail=2`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const items = (res.body as { items: LogLine[] }).items;
    expect(items.map((l) => l.line)).toEqual(['listening on 8080', 'GET / 200']);
    expect(items.every((l) => l.instance_id === instanceId && l.stream === 'stdout')).toBe(true);
    expect(node.requests.at(-1)).toMatchObject({ instance_id: instanceId, tail: 2, follow: false });

    const one = await api.call('GET', `/v1/apps/${app}/logs?instance=${instanceId}&tail=1`);
    expect((one.body as { items: LogLine[] }).items.map((l) => l.line)).toEqual(['GET / 200']);
    const none = await api.call('GET', `/v1/apps/${app}/logs?instance=ins_nope`);
    expect(none.status).toBe(404);
    expect((await api.call('GET', `/v1/apps/${app}/logs?tail=0`)).status).toBe(400);
  });

  it('streams the tail and then live lines over the WebSocket; closing it closes the node socket', async () => {
    const closesBefore = node.closes.length;
    const stream = openLogs(api, `/v1/apps/${app}/logs?follow=true&tail=1`, api.token);
    await expect.poll(() => stream.lines.length, { timeout: 5000 }).toBeGreaterThanOrEqual(4);
    expect(stream.lines.slice(0, 4).map((l) => l.line)).toEqual(['GET / 200', 'live 1', 'live 2', 'live 3']);
    stream.socket.close(1000);
    await expect.poll(() => node.closes.length, { timeout: 5000 }).toBe(closesBefore + 1);
    expect(node.closes.at(-1)).toBe(1000);
  });

  it('ends a WebSocket without follow once the tails are sent', async () => {
    const stream = openLogs(api, `/v1/apps/${app}/logs?tail=5`, api.token);
    expect((await stream.closed).code).toBe(1000);
    expect(stream.lines.map((l) => l.line)).toEqual(history);
  });

  it("answers another organization's user 404, on a plain GET and on the upgrade", async () => {
    const signup = await api.call('POST', '/v1/auth/signup', {
      token: null,
      body: { email: `${uniq('other')}@example.com`, password: 'another password' },
    });
    const token = (signup.body as { tokens: { access_token: string } }).tokens.access_token;
    const requests = node.requests.length;
    const res = await api.call('GET', `/v1/apps/${app}/logs`, { token });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'APP_NOT_FOUND' } });
    expect((await openLogs(api, `/v1/apps/${app}/logs?follow=1`, token).closed).status).toBe(404);
    expect(node.requests).toHaveLength(requests);
  });

  it('closes 4404 a node socket for an unknown request or for a request sent to another node', async () => {
    const headers = { authorization: `Bearer ${node.credential}` };
    const unknown = new WebSocket(wsUrl(api, `/v1/nodes/${node.nodeId}/logs/logs_unknown`), { headers });
    unknown.on('error', () => undefined);
    expect(await new Promise((r) => unknown.once('close', r))).toBe(4404);

    const other = await startFakeNode(api, []);
    other.mode = 'ignore';
    node.mode = 'ignore';
    try {
      const pending = api.call('GET', `/v1/apps/${app}/logs`);
      await expect.poll(() => node.requests.length > 0 && node.requests.at(-1)?.follow === false).toBe(true);
      const request = node.requests.at(-1)!;
      const stolen = new WebSocket(wsUrl(api, `/v1/nodes/${other.nodeId}/logs/${request.id}`), {
        headers: { authorization: `Bearer ${other.credential}` },
      });
      stolen.on('error', () => undefined);
      expect(await new Promise((r) => stolen.once('close', r))).toBe(4404);
      await pending;
    } finally {
      node.mode = 'answer';
      other.close();
    }
  });

  it('does not wait beyond its limits for a node that never attaches', async () => {
    node.mode = 'ignore';
    try {
      const t0 = Date.now();
      const res = await api.call('GET', `/v1/apps/${app}/logs`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [] });
      expect(Date.now() - t0).toBeLessThan(4500);

      const stream = openLogs(api, `/v1/apps/${app}/logs`, api.token);
      expect((await stream.closed).code).toBe(1000);
      expect(stream.lines).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      node.mode = 'answer';
    }
  });
});
