import { z } from 'zod';
import type { RawData, WebSocket } from 'ws';
import { schemas } from '@shellwego/core';
import type { LogQuery } from '@shellwego/core';
import { defineRoute } from '../route.js';
import type { RouteContext } from '../route.js';
import type { LogSession } from '../../services/logs.js';

const appParam = z.strictObject({ app: schemas.idParam });
const nodeLogsParam = z.strictObject({ node: schemas.idParam, request: schemas.idParam });

/** A plain GET waits this long at most for the nodes' tails. */
const TAIL_WAIT_MS = 3000;
/** An attached node that has sent nothing for this long has sent its tail. */
const TAIL_QUIET_MS = 200;
/** A session the WebSocket did not take within this long belonged to a plain GET (or a failed upgrade). */
const CLAIM_MS = 5000;
const SLOW_READER_BYTES = 4 * 1024 * 1024;

// The handler runs for plain GETs and before upgrades alike: it opens the session and, for an upgrade, leaves it here
// (keyed by the request's context) for the WebSocket to take over; a plain GET answers the tail.
const unclaimed = new WeakMap<object, LogSession>();

type AppLogsContext = RouteContext<{ app: string }, LogQuery, unknown>;

async function openLogs(ctx: AppLogsContext): Promise<{ items: z.input<typeof schemas.logLine>[] }> {
  const { actor, params, query, services } = ctx;
  const session = await services.logs.open(actor, params.app, {
    follow: query.follow,
    tail: query.tail,
    instance: query.instance,
  });
  if (ctx.upgrade) {
    unclaimed.set(ctx, session);
    setTimeout(() => {
      if (unclaimed.get(ctx) !== session) return;
      unclaimed.delete(ctx);
      session.close();
    }, CLAIM_MS).unref();
    return { items: [] };
  }
  // A plain GET owns its session: the tails, then it ends.
  try {
    await session.settled(TAIL_WAIT_MS, TAIL_QUIET_MS);
    return { items: session.snapshot() };
  } finally {
    session.close();
  }
}

/** One JSON log line per text frame, live; closes 1000 when every instance ended (no follow). */
function streamLogs(ctx: AppLogsContext, socket: WebSocket): void {
  const session = unclaimed.get(ctx);
  unclaimed.delete(ctx);
  if (!session) {
    socket.close(1011, 'log session expired');
    return;
  }
  socket.on('close', () => session.close());
  socket.on('error', () => session.close());
  const pump = async (): Promise<void> => {
    for await (const line of session) {
      if (socket.readyState !== socket.OPEN) return;
      // A reader that does not keep up is cut off rather than buffered without end.
      if (socket.bufferedAmount > SLOW_READER_BYTES) {
        socket.close(1013, 'too slow');
        return;
      }
      socket.send(JSON.stringify(line));
    }
    if (socket.readyState === socket.OPEN) socket.close(1000, 'end of logs');
  };
  pump().catch((err: unknown) => {
    ctx.services.deps.logger.warn({ err }, 'log stream failed; closing it');
    socket.close(1011, 'internal error');
  });
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The node's answer to a log request it got on its watch; 4404 when there is no such request for this node. */
function attachNodeLogs(
  ctx: RouteContext<{ node: string; request: string }, unknown, unknown>,
  socket: WebSocket,
): void {
  const attachment = ctx.services.logs.attach(ctx.node, ctx.params.request, socket);
  if (!attachment) {
    socket.close(4404, 'unknown or expired log request');
    return;
  }
  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (!isBinary) attachment.receive(textOf(data));
  });
  socket.on('close', () => attachment.end());
  socket.on('error', () => attachment.end());
}

export const logRoutes = [
  defineRoute({
    method: 'GET',
    url: '/v1/apps/:app/logs',
    summary:
      "WebSocket: the app's instance logs, one JSON line {instance_id, stream, line, at} per frame, the last `tail` of each instance first and, with follow, live. A plain GET answers the tails (waiting at most 3 s for nodes)",
    tag: 'apps',
    access: 'tenant',
    params: appParam,
    query: schemas.logQuery,
    response: z.object({ items: z.array(schemas.logLine) }),
    handler: openLogs,
    websocket: streamLogs,
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/nodes/:node/logs/:request',
    summary:
      'WebSocket (node credential): the node sends the lines a log request of its watch asked for, one JSON line per frame; a plain GET only checks the credential',
    tag: 'nodes',
    access: 'node',
    params: nodeLogsParam,
    response: null,
    handler: async ({ node, params, services }) => {
      services.nodeProtocol.requireSelf(node, params.node);
      return Promise.resolve();
    },
    websocket: attachNodeLogs,
  }),
];
