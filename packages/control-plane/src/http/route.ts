import type { z } from 'zod';
import type { Actor } from '../services/context.js';
import type { WebSocket } from 'ws';
import type { Services } from '../services/index.js';
import type { NodeIdentity } from '../services/node-protocol.js';

/**
 * One route of the API, declared once. The table of these drives Fastify's router, request
 * validation, the OpenAPI document and the tenant-isolation test matrix, so none of them can drift.
 * (Written by hand rather than with a Fastify type provider because the table must also feed the
 * OpenAPI document and the tests without starting a server.)
 */
export interface RouteSpec<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType | null,
> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify syntax: `/v1/apps/:app`. */
  url: string;
  summary: string;
  tag: string;
  /**
   * `public`: no credentials. `user`: the caller's own records (tokens, profile). `tenant`: rows owned by
   * an organization; the isolation matrix checks another org's caller gets 404/403 on every such route.
   * `node`: a worker node with its node credential (`swgn_…`), acting on itself only.
   */
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** null: 204 No Content. */
  response: R;
  status?: 200 | 201 | 202;
  handler: (
    ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>,
  ) => Promise<R extends z.ZodType ? z.input<R> : void>;
  /**
   * A WebSocket route: the upgrade is authenticated like any request and `handler` runs first (so its
   * errors answer the upgrade with an HTTP error); then `websocket` takes the socket. A plain GET gets
   * the handler's answer.
   */
  websocket?: (ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>, socket: WebSocket) => void;
}

export type Access = 'public' | 'user' | 'tenant' | 'node';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The authenticated caller; only routes with access `user` or `tenant` may read it. */
  actor: Actor;
  /** The authenticated node; only routes with access `node` may read it. */
  node: NodeIdentity;
  services: Services;
  ip: string;
  /** The request asks for a WebSocket: the handler's answer only decides whether the upgrade goes ahead. */
  upgrade: boolean;
}

// The table holds routes of many shapes; this erased form is what the server iterates over.
export interface AnyRoute {
  method: RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType | null>['method'];
  url: string;
  summary: string;
  tag: string;
  access: Access;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType | null;
  status?: 200 | 201 | 202;
  handler: (ctx: RouteContext<unknown, unknown, unknown>) => Promise<unknown>;
  websocket?: (ctx: RouteContext<unknown, unknown, unknown>, socket: WebSocket) => void;
}

export function defineRoute<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
  R extends z.ZodType | null = null,
>(spec: RouteSpec<P, Q, B, R>): AnyRoute {
  // Sound: the server validates params/query/body with the route's own schemas before calling the handler.
  return spec as unknown as AnyRoute;
}
