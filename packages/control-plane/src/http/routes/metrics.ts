import { z } from 'zod';
import { PaasError, schemas } from '@shellwego/core';
import { defineRoute } from '../route.js';

const appParam = z.strictObject({ app: schemas.idParam });

export const metricsRoutes = [
  defineRoute({
    method: 'GET',
    url: '/v1/apps/:app/metrics',
    summary:
      "The app's requests, 5xx, latency p50/p95 (from the edges) and memory/CPU of its instances (from the nodes), one point per step of the window (1h: 1 min, 6h: 5 min, 24h: 15 min)",
    tag: 'apps',
    access: 'tenant',
    params: appParam,
    query: schemas.appMetricsQuery,
    response: schemas.appMetrics,
    handler: ({ actor, params, query, services }) => services.metrics.forApp(actor, params.app, query.window),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/edge/metrics',
    summary:
      "An edge's traffic per app (requests, 5xx, latency buckets) since its last accepted report (platform admins)",
    tag: 'edge',
    access: 'user',
    body: schemas.edgeMetricsReport,
    response: null,
    handler: async ({ actor, body, services }) => {
      if (!actor.isPlatformAdmin) {
        throw new PaasError(
          'FORBIDDEN',
          "the edge's reports are for the platform operator (a platform admin or their token)",
        );
      }
      await services.metrics.recordEdge(body);
    },
  }),
];
