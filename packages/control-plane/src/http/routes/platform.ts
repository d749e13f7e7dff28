import { z } from 'zod';
import { schemas } from '@shellwego/core';
import { defineRoute } from '../route.js';

const volumeParam = z.strictObject({ volume: schemas.idParam });
const nodeParam = z.strictObject({ node: schemas.idParam });
const auditQuery = schemas.pageQuery.extend({ org: z.string().max(128).optional() });

export const platformRoutes = [
  defineRoute({
    method: 'POST',
    url: '/v1/volumes',
    summary: 'Create a persistent volume',
    tag: 'volumes',
    access: 'tenant',
    body: schemas.volumeCreate,
    response: schemas.volume,
    status: 201,
    handler: ({ actor, body, services }) => services.volumes.create(actor, body),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/volumes',
    summary: 'Volumes',
    tag: 'volumes',
    access: 'tenant',
    response: z.object({ items: z.array(schemas.volume) }),
    handler: async ({ actor, services }) => ({ items: await services.volumes.list(actor) }),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/volumes/:volume',
    summary: 'One volume, by name or id',
    tag: 'volumes',
    access: 'tenant',
    params: volumeParam,
    response: schemas.volume,
    handler: ({ actor, params, services }) => services.volumes.get(actor, params.volume),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/v1/volumes/:volume',
    summary: 'Delete a volume',
    tag: 'volumes',
    access: 'tenant',
    params: volumeParam,
    response: null,
    handler: ({ actor, params, services }) => services.volumes.delete(actor, params.volume),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/nodes',
    summary: 'Worker nodes',
    tag: 'nodes',
    access: 'tenant',
    response: z.object({ items: z.array(schemas.node) }),
    handler: async ({ actor, services }) => ({ items: await services.nodes.list(actor) }),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/nodes/:node',
    summary: 'One node, by name or id',
    tag: 'nodes',
    access: 'tenant',
    params: nodeParam,
    response: schemas.node,
    handler: ({ actor, params, services }) => services.nodes.get(actor, params.node),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/audit',
    summary: "An organization's audit log (admins), with the chain head",
    tag: 'audit',
    access: 'tenant',
    query: auditQuery,
    response: schemas.auditPage,
    handler: ({ actor, query, services }) => services.audit.list(actor, query),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/audit/verify',
    summary: 'Verify the audit hash chain on the server',
    tag: 'audit',
    access: 'tenant',
    query: z.strictObject({ org: z.string().max(128).optional() }),
    response: schemas.auditVerification,
    handler: ({ actor, query, services }) => services.audit.verify(actor, query.org),
  }),
];
