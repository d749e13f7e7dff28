// Test-only: the control plane's side of the node protocol and nothing else, so agent tests can hand the agent any
// desired state (wire specs included) and read every status report it sends.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { schemas, type DesiredInstanceWire, type LogLine, type NodeStatusReport } from '@shellwego/core';

/** The agent's answer to one log request: the lines it sent and how it closed the socket. */
export interface LogCapture {
  lines: LogLine[];
  /** Resolves when the agent's socket closes (or, without one, never). */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once a line matching `pred` arrived. */
  waitForLine(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Closes our side, as the control plane does when its reader goes away. */
  close(): void;
}

export interface FakeControlPlane {
  url: string;
  reports: NodeStatusReport[];
  /** Sends a new desired state (next revision) to every open watch, and to those opened later. */
  setDesired(instances: DesiredInstanceWire[] | unknown[]): void;
  /** Sends a log request on every open watch and captures what the agent sends back. */
  requestLogs(instanceId: string, opts: { follow: boolean; tail?: number }): LogCapture;
  /** Resolves with the first report since the last setDesired() that `pick` returns a value for. */
  waitForReport<T>(
    what: string,
    pick: (r: NodeStatusReport) => T | undefined,
    timeoutMs?: number,
  ): Promise<T>;
  close(): Promise<void>;
}

const NODE_ID = 'node_test';

export async function startFakeControlPlane(): Promise<FakeControlPlane> {
  const reports: NodeStatusReport[] = [];
  const sockets = new Set<WebSocket>();
  const watches = new Set<WebSocket>();
  let logRequests = 0;
  let desired = { revision: 0, instances: [] as unknown[] };
  let since = 0;
  const ack = (): string => JSON.stringify({ status: 'ready', revision: desired.revision });

  const server: Server = createServer((req, res) => {
    void body(req).then((text) => {
      const json = (status: number, payload: string): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(payload);
      };
      if (req.url === '/v1/nodes/register')
        return json(201, JSON.stringify({ node_id: NODE_ID, credential: 'cred' }));
      if (req.url === `/v1/nodes/${NODE_ID}/status`) {
        reports.push(schemas.nodeStatusReport.parse(JSON.parse(text)));
        return json(200, ack());
      }
      if (req.url === `/v1/nodes/${NODE_ID}/heartbeat`) return json(200, ack());
      json(404, JSON.stringify({ error: { code: 'NOT_FOUND', message: req.url ?? '' } }));
    });
  });
  const logSockets = new Map<string, (ws: WebSocket) => void>();
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const path = req.url ?? '';
    const logs = path.startsWith(`/v1/nodes/${NODE_ID}/logs/`)
      ? logSockets.get(decodeURIComponent(path.slice(`/v1/nodes/${NODE_ID}/logs/`.length)))
      : undefined;
    if (path !== `/v1/nodes/${NODE_ID}/watch` && logs === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      if (logs) return logs(ws);
      watches.add(ws);
      ws.on('close', () => watches.delete(ws));
      ws.send(JSON.stringify(desired));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // Listening on TCP, so address() is an AddressInfo.
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

  return {
    url,
    reports,
    setDesired(instances) {
      desired = { revision: desired.revision + 1, instances };
      since = reports.length;
      for (const ws of watches) ws.send(JSON.stringify(desired));
    },
    requestLogs(instanceId, opts) {
      const id = `logs_${String(++logRequests)}`;
      const lines: LogLine[] = [];
      let socket: WebSocket | undefined;
      let onClosed: (c: { code: number; reason: string }) => void = () => undefined;
      const closed = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
      logSockets.set(id, (ws) => {
        logSockets.delete(id);
        socket = ws;
        ws.on('message', (data: Buffer) =>
          lines.push(schemas.logLine.parse(JSON.parse(data.toString('utf8')))),
        );
        ws.on('close', (code, reason) => onClosed({ code, reason: reason.toString('utf8') }));
      });
      const request = {
        type: 'logs',
        id,
        instance_id: instanceId,
        follow: opts.follow,
        tail: opts.tail ?? 100,
      };
      for (const ws of watches) ws.send(JSON.stringify(request));
      return {
        lines,
        closed,
        async waitForLine(pred, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const found = lines.find(pred);
            if (found) return found;
            if (Date.now() > deadline)
              throw new Error(`timed out waiting for a log line; got ${JSON.stringify(lines)}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        },
        close() {
          socket?.close(1000, 'reader gone');
        },
      };
    },
    async waitForReport(what, pick, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (let seen = since; ;) {
        for (; seen < reports.length; seen++) {
          const report = reports[seen];
          const v = report === undefined ? undefined : pick(report);
          if (v !== undefined) return v;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += (chunk as Buffer).toString('utf8');
  return text;
}
