import Fastify from 'fastify';
import websocket from '@fastify/websocket';
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import type { Logger } from 'pino';
import { PaasError, isPaasError } from '@shellwego/core';
import type { ErrorCode } from '@shellwego/core';
import type { Services } from '../services/index.js';
import type { Actor } from '../services/context.js';
import type { NodeIdentity } from '../services/node-protocol.js';
import type { RouteContext } from './route.js';
import type { AnyRoute } from './route.js';
import { routeTable } from './routes/index.js';
import { parseInput } from './validation.js';
import { TokenBuckets, rateLimitKey } from './rate-limit.js';
import type { RateLimitSettings } from './rate-limit.js';
import { buildOpenApi } from './openapi.js';
import { createHttpMetrics } from './metrics.js';
import { registerDashboard, type DashboardSettings } from './routes/dashboard.js';

export interface HttpSettings {
  version: string;
  /** null disables rate limiting (benchmarks). */
  rateLimit: RateLimitSettings | null;
  bodyLimitBytes: number;
  /** Serve the web dashboard at `/` and the branding's files (main.ts; tests may leave it out). */
  dashboard?: DashboardSettings;
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/** The one place where errors become HTTP responses (STYLE.md §6). */
function toPaasError(err: unknown, req: FastifyRequest): PaasError | null {
  if (isPaasError(err)) return err;
  const fe = err as Partial<FastifyError> & { type?: string };
  if (typeof fe.code === 'string' && fastifyCodes[fe.code]) {
    const code = fastifyCodes[fe.code] ?? 'VALIDATION_FAILED';
    const message =
      code === 'PAYLOAD_TOO_LARGE'
        ? 'the request body is larger than the 10 MB limit'
        : code === 'INVALID_JSON'
          ? `the request body is not valid JSON: ${fe.message ?? ''}`.trim()
          : code === 'UNSUPPORTED_MEDIA_TYPE'
            ? `unsupported Content-Type ${String(req.headers['content-type'] ?? '')}; send application/json`
            : (fe.message ?? 'bad request');
    return new PaasError(code, message, code === 'INVALID_JSON' ? { field: 'body' } : {});
  }
  // JSON.parse errors (syntax) and other client errors Fastify already classed as 4xx.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code: ErrorCode =
      fe.statusCode === 413
        ? 'PAYLOAD_TOO_LARGE'
        : fe.statusCode === 415
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : 'INVALID_JSON';
    return new PaasError(code, fe.message ?? 'bad request');
  }
  return null;
}

// Cast: Fastify types these factories for ajv's compiled functions; ours never run, as no route
// declares a Fastify schema.
const unusedSchemaCompilers = {
  compilersFactory: {
    buildValidator: () => () => () => true,
    buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
  },
} as unknown as NonNullable<FastifyServerOptions['schemaController']>;

function sendError(reply: FastifyReply, e: PaasError): FastifyReply {
  if (e.headers) void reply.headers(e.headers);
  return reply.code(e.status).type('application/json').send(e.toJSON());
}

export async function buildHttpServer(
  services: Services,
  logger: Logger,
  settings: HttpSettings,
): Promise<FastifyInstance> {
  const app = Fastify({
    // The cast picks Fastify's base logger type for the instance; without it the instance is typed
    // with pino's Logger and no longer fits FastifyInstance. The linter cannot see that inference.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: settings.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    trustProxy: false,
    return503OnClosing: true,
    // Requests are validated with the route table's zod schemas and answered with JSON.stringify, so
    // Fastify's own compilers are never used; stubbing them keeps ajv (~6 MiB) out of memory.
    schemaController: unusedSchemaCompilers,
    forceCloseConnections: 'idle',
  });

  // The API speaks JSON only; anything else is 415 rather than a string the schemas then refuse.
  app.removeContentTypeParser('text/plain');

  // Every answer names its request id, so a user can quote it and an operator find it in the logs.
  app.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });

  const metrics = createHttpMetrics();
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(
      req.method,
      req.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  if (settings.rateLimit) {
    const buckets = new TokenBuckets(settings.rateLimit);
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/v1/health' || req.url === '/metrics') return;
      const wait = buckets.take(rateLimitKey(req.headers.authorization, req.ip));
      if (wait > 0) {
        sendError(
          reply,
          new PaasError('RATE_LIMITED', `too many requests; retry in ${wait} s`, {
            headers: { 'retry-after': String(wait) },
          }),
        );
        return reply;
      }
    });
  }

  app.setErrorHandler((err, req, reply) => {
    const known = toPaasError(err, req);
    if (known) return sendError(reply, known);
    req.log.error({ err }, 'unhandled error');
    return sendError(
      reply,
      new PaasError('INTERNAL', `internal error; quote request id ${req.id} to the operator`),
    );
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new PaasError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`),
    ),
  );

  // WebSocket routes (the node watch); payloads are small JSON documents.
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });

  if (settings.dashboard) await registerDashboard(app, services, settings.dashboard);
  for (const route of routeTable) registerRoute(app, route, services);

  let openapi: string | null = null;
  app.get('/v1/openapi.json', async (_req, reply) => {
    openapi ??= JSON.stringify(buildOpenApi(routeTable, settings.version));
    return reply.type('application/json').send(openapi);
  });
  app.get('/v1/health', () =>
    Promise.resolve({
      status: 'ok' as const,
      version: settings.version,
      database: services.deps.store.describe(),
    }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  return app;
}

async function routeContext(
  route: AnyRoute,
  req: FastifyRequest,
  services: Services,
): Promise<RouteContext<unknown, unknown, unknown>> {
  let actor: Actor | null = null;
  let node: NodeIdentity | null = null;
  if (route.access === 'node') node = await services.nodeProtocol.authenticate(req.headers.authorization);
  else if (route.access !== 'public') actor = await services.auth.authenticate(req.headers.authorization);
  return {
    params: route.params ? parseInput(route.params, req.params, 'params') : {},
    query: route.query ? parseInput(route.query, req.query, 'query') : {},
    body: route.body ? parseInput(route.body, req.body, 'body') : undefined,
    get actor(): Actor {
      if (!actor) throw new Error(`route ${route.url} has no user actor`);
      return actor;
    },
    get node(): NodeIdentity {
      if (!node) throw new Error(`route ${route.url} is not a node route`);
      return node;
    },
    services,
    ip: req.ip,
    upgrade: req.headers.upgrade?.toLowerCase() === 'websocket',
  };
}

function registerRoute(app: FastifyInstance, route: AnyRoute, services: Services): void {
  const prepared = new WeakMap<
    FastifyRequest,
    { ctx: RouteContext<unknown, unknown, unknown>; result: unknown }
  >();
  const onSocket = route.websocket;
  app.route({
    method: route.method,
    url: route.url,
    // For a WebSocket route the handler runs before the upgrade, so a refused caller gets an HTTP error.
    ...(onSocket
      ? {
          preValidation: async (req: FastifyRequest) => {
            const ctx = await routeContext(route, req, services);
            prepared.set(req, { ctx, result: await route.handler(ctx) });
          },
          wsHandler: (socket, req) => {
            const done = prepared.get(req);
            if (!done) {
              socket.close(1011, 'not authenticated');
              return;
            }
            onSocket(done.ctx, socket);
          },
        }
      : {}),
    handler: async (req, reply) => {
      // A plain GET of a WebSocket route answers what the handler computed before the (absent) upgrade.
      const done = prepared.get(req);
      const result = done ? done.result : await route.handler(await routeContext(route, req, services));
      if (route.response === null) return reply.code(204).send();
      return reply.code(route.status ?? 200).send(result);
    },
  });
}

export { routeTable };
