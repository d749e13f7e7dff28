import { z } from 'zod';
import type { WebSocket } from 'ws';
import { schemas } from '@shellwego/core';
import { defineRoute } from '../route.js';
import type { RouteContext } from '../route.js';

const nodeParam = z.strictObject({ node: schemas.idParam });
const joinTokenParam = z.strictObject({ join_token: schemas.idParam });

/**
 * Sends the node's full desired state now and on every change. Level-triggered: a lost message costs
 * nothing, a reconnect resyncs. Also forwards log requests ({type: 'logs', …}) for the node.
 */
function watch(ctx: RouteContext<{ node: string }, unknown, unknown>, socket: WebSocket): void {
  const { node, services } = ctx;
  let last = -1;
  let sending = false;
  let again = false;
  const send = async (): Promise<void> => {
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    try {
      do {
        again = false;
        const state = await services.nodeProtocol.desiredState(node);
        if (state.revision !== last && socket.readyState === socket.OPEN) {
          last = state.revision;
          socket.send(JSON.stringify(state));
        }
      } while (again);
    } catch (err) {
      services.deps.logger.warn({ err, node: node.nodeId }, 'node watch failed; closing it');
      socket.close(1011, 'internal error');
    } finally {
      sending = false;
    }
  };
  const unsubscribeChanges = services.nodeProtocol.onChange(node.nodeId, () => void send());
  // Log requests ride the same socket: the node dials back to /v1/nodes/{node}/logs/{id} with the lines.
  const unsubscribeLogs = services.logs.onRequest(node.nodeId, (request) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(request));
  });
  const unsubscribe = (): void => {
    unsubscribeChanges();
    unsubscribeLogs();
  };
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);
  void send();
}

export const nodeProtocolRoutes = [
  defineRoute({
    method: 'POST',
    url: '/v1/nodes/join-tokens',
    summary: 'Create a join token for registering nodes (admins); the token is shown once',
    tag: 'nodes',
    access: 'tenant',
    body: schemas.joinTokenCreate,
    response: schemas.joinTokenCreated,
    status: 201,
    handler: ({ actor, body, services }) => services.joinTokens.create(actor, body),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/nodes/join-tokens',
    summary: 'Unexpired join tokens (admins), without the tokens themselves',
    tag: 'nodes',
    access: 'tenant',
    response: z.object({ items: z.array(schemas.joinToken) }),
    handler: async ({ actor, services }) => ({ items: await services.joinTokens.list(actor) }),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/v1/nodes/join-tokens/:join_token',
    summary: 'Delete a join token; nodes it registered stay',
    tag: 'nodes',
    access: 'tenant',
    params: joinTokenParam,
    response: null,
    handler: ({ actor, params, services }) => services.joinTokens.delete(actor, params.join_token),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/nodes/register',
    summary: 'Register a node with a join token; returns its node credential, shown once',
    tag: 'nodes',
    access: 'public',
    body: schemas.nodeRegister,
    response: schemas.nodeRegistered,
    status: 201,
    handler: ({ body, services }) => services.nodeProtocol.register(body),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/nodes/:node/status',
    summary: "A node's report of its actual state and resources (node credential); counts as a heartbeat",
    tag: 'nodes',
    access: 'node',
    params: nodeParam,
    body: schemas.nodeStatusReport,
    response: schemas.nodeAck,
    handler: ({ node, params, body, services }) => {
      services.nodeProtocol.requireSelf(node, params.node);
      return services.nodeProtocol.reportStatus(node, body);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/nodes/:node/artifacts/:digest',
    summary:
      'A WebAssembly module that a release placed on this node names (node credential), base64 in JSON',
    tag: 'nodes',
    access: 'node',
    params: z.strictObject({ node: schemas.idParam, digest: schemas.sha256Digest }),
    response: schemas.artifactContent,
    handler: ({ node, params, services }) => {
      services.nodeProtocol.requireSelf(node, params.node);
      return services.artifacts.forNode(node, params.digest);
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/nodes/:node/heartbeat',
    summary: "A node's heartbeat (node credential)",
    tag: 'nodes',
    access: 'node',
    params: nodeParam,
    response: schemas.nodeAck,
    handler: ({ node, params, services }) => {
      services.nodeProtocol.requireSelf(node, params.node);
      return services.nodeProtocol.heartbeat(node);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/nodes/:node/watch',
    summary:
      "WebSocket (node credential): the node's full desired state {revision, instances} on connect and on every change, and log requests {type: 'logs', id, instance_id, follow, tail}; a plain GET answers the desired state once",
    tag: 'nodes',
    access: 'node',
    params: nodeParam,
    response: schemas.desiredState,
    handler: ({ node, params, services }) => {
      services.nodeProtocol.requireSelf(node, params.node);
      return services.nodeProtocol.desiredState(node);
    },
    websocket: watch,
  }),
];
