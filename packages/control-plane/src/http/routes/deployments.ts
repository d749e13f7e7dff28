import { z } from 'zod';
import type { WebSocket } from 'ws';
import { PaasError, schemas } from '@shellwego/core';
import { defineRoute } from '../route.js';
import type { RouteContext } from '../route.js';
import type { Actor } from '../../services/context.js';

const appParam = z.strictObject({ app: schemas.idParam });
const deploymentParam = z.strictObject({ deployment: schemas.idParam });
const sinceQuery = z.strictObject({ since: z.coerce.number().int().min(0).optional() });

/** Replays what the caller missed since `since`, then streams live events; a slow reader is cut off, not buffered. */
function eventStream(
  ctx: RouteContext<unknown, { since?: number | undefined }, unknown>,
  socket: WebSocket,
): void {
  const { actor, services, query } = ctx;
  let last = query.since ?? Number.MAX_SAFE_INTEGER;
  const backlog: z.infer<typeof schemas.platformEvent>[] = [];
  let replaying = query.since !== undefined;
  const send = (e: z.infer<typeof schemas.platformEvent>): void => {
    if (e.seq <= last && last !== Number.MAX_SAFE_INTEGER) return;
    last = e.seq;
    if (socket.bufferedAmount > 4 * 1024 * 1024) socket.close(1013, 'too slow');
    else if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(e));
  };
  const unsubscribe = services.events.subscribe(actor, (e) => (replaying ? backlog.push(e) : send(e)));
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);
  if (query.since === undefined) return;
  void services.events
    .since(actor, query.since)
    .then((past) => {
      for (const e of past) send(e);
      replaying = false;
      for (const e of backlog.splice(0)) send(e);
    })
    .catch(() => socket.close(1011, 'internal error'));
}

function requirePlatformAdmin(actor: Actor): void {
  if (!actor.isPlatformAdmin)
    throw new PaasError(
      'FORBIDDEN',
      'the route table is for the platform operator (a platform admin or their token)',
    );
}

/** Sends the whole route table on connect and on every change (level-triggered, like the node watch). */
function routeWatch(ctx: RouteContext<unknown, unknown, unknown>, socket: WebSocket): void {
  const { actor, services } = ctx;
  if (!actor.isPlatformAdmin) {
    socket.close(1008, 'forbidden');
    return;
  }
  let last = -1;
  const send = async (): Promise<void> => {
    const table = await services.edgeRoutes.table();
    if (table.revision > last && socket.readyState === socket.OPEN) {
      last = table.revision;
      socket.send(JSON.stringify(table));
    }
  };
  const fire = (): void => {
    send().catch(() => socket.close(1011, 'internal error'));
  };
  const unsubscribe = services.edgeRoutes.onChange(fire);
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);
  fire();
}

export const deploymentRoutes = [
  defineRoute({
    method: 'POST',
    url: '/v1/apps/:app/deployments',
    summary: 'Deploy the app (optionally a new image, env or resources); the rollout runs in the background',
    tag: 'deployments',
    access: 'tenant',
    params: appParam,
    body: schemas.deploymentCreate,
    response: schemas.deployment,
    status: 202,
    handler: ({ actor, params, body, services }) => services.deployments.deploy(actor, params.app, body),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/deployments',
    summary: "Deploy, in the seed's form {app_id, image, resources, env}",
    tag: 'deployments',
    access: 'tenant',
    body: schemas.seedDeploymentCreate,
    response: schemas.deployment,
    status: 202,
    handler: ({ actor, body, services }) => {
      const { app_id, ...rest } = body;
      return services.deployments.deploy(actor, app_id, rest);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/apps/:app/deployments',
    summary: "The app's deployments, newest first",
    tag: 'deployments',
    access: 'tenant',
    params: appParam,
    response: z.object({ items: z.array(schemas.deployment) }),
    handler: async ({ actor, params, services }) => ({
      items: await services.deployments.listForApp(actor, params.app),
    }),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/deployments/:deployment',
    summary: 'One deployment with its step log and, when it failed, the reason',
    tag: 'deployments',
    access: 'tenant',
    params: deploymentParam,
    response: schemas.deployment,
    handler: ({ actor, params, services }) => services.deployments.get(actor, params.deployment),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/deployments/:deployment/cancel',
    summary: 'Cancel a running deployment; the release that served keeps serving',
    tag: 'deployments',
    access: 'tenant',
    params: deploymentParam,
    response: schemas.deployment,
    handler: ({ actor, params, services }) => services.deployments.cancel(actor, params.deployment),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/apps/:app/releases',
    summary: "The app's releases, newest first",
    tag: 'deployments',
    access: 'tenant',
    params: appParam,
    response: z.object({ items: z.array(schemas.release) }),
    handler: async ({ actor, params, services }) => ({
      items: await services.deployments.releases(actor, params.app),
    }),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/apps/:app/rollback',
    summary: 'Deploy an earlier release again (default: the one before the current)',
    tag: 'deployments',
    access: 'tenant',
    params: appParam,
    body: schemas.rollbackRequest,
    response: schemas.deployment,
    status: 202,
    handler: ({ actor, params, body, services }) =>
      services.deployments.rollback(actor, params.app, body.release),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/events',
    summary:
      "WebSocket: every state change of the caller's organizations as {seq, type, resource, id, data, at}; ?since=SEQ replays what came after SEQ. A plain GET lists stored events after `since`",
    tag: 'events',
    access: 'tenant',
    query: sinceQuery,
    response: z.object({ items: z.array(schemas.platformEvent) }),
    handler: async ({ actor, query, services }) => ({
      items: await services.events.since(actor, query.since ?? 0),
    }),
    websocket: eventStream,
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/edge/routes',
    summary:
      "WebSocket (platform admins): the edge's route table on connect and on every change; a plain GET answers it once",
    tag: 'edge',
    access: 'user',
    response: schemas.edgeRouteTable,
    handler: ({ actor, services }) => {
      requirePlatformAdmin(actor);
      return services.edgeRoutes.table();
    },
    websocket: routeWatch,
  }),
];
