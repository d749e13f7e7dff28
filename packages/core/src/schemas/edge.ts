import { z } from 'zod';
import { acmeChallenge } from './certificates.js';

/**
 * The edge's route table as the control plane serves it (`GET /v1/edge/routes`, and each message of the edge's
 * watch): every hostname with the app's instances that may take traffic. An instance appears here only once it is
 * healthy, and leaves before it is stopped, so the edge never routes to a version that does not serve.
 */
export const edgeUpstream = z.object({
  /** The instance id. */
  id: z.string(),
  /** `ip:port` reachable from the edge. */
  address: z.string(),
  /** Relative share of new requests; 0 drains the upstream (no new requests, those in flight finish). */
  weight: z.number().int().min(0).max(1000),
});
export type EdgeUpstream = z.infer<typeof edgeUpstream>;

export const edgeRoute = z.object({
  hostname: z.string(),
  app_id: z.string(),
  app_name: z.string(),
  /** The path the edge's active checks request on each upstream. */
  health_path: z.string(),
  upstreams: z.array(edgeUpstream),
});
export type EdgeRoute = z.infer<typeof edgeRoute>;

export const edgeRouteTable = z.object({
  revision: z.number().int(),
  routes: z.array(edgeRoute),
  /** ACME HTTP-01 answers every edge serves at /.well-known/acme-challenge/<token>, whatever the host. */
  challenges: z.array(acmeChallenge),
  /** Revision of the certificate set: an edge fetches GET /v1/edge/certificates again when it changes. */
  certificates_revision: z.number().int(),
});
export type EdgeRouteTable = z.infer<typeof edgeRouteTable>;
