import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EdgeRoute, EdgeRouteTable } from '@shellwego/core';
import { Pool } from 'undici';
import { startEdge, type EdgeServer, type StartEdgeOptions } from './server.js';
import type { Cleanup, TestUpstream } from './test-upstream.js';

export async function tempStateDir(cleanup: Cleanup): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-test-'));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An edge on port 0 with a temp state dir and health checks off unless asked; closed by `cleanup`. */
export async function startTestEdge(
  cleanup: Cleanup,
  options: Partial<StartEdgeOptions> = {},
): Promise<EdgeServer> {
  const stateDir = options.stateDir ?? (await tempStateDir(cleanup));
  const edge = await startEdge({ httpPort: 0, healthCheck: false, ...options, stateDir });
  cleanup.add(() => edge.close({ drainMs: 0 }));
  return edge;
}

export function route(
  hostname: string,
  upstreams: Array<TestUpstream | { id: string; address: string }>,
  weights: number[] = [],
  extra: Partial<EdgeRoute> = {},
): EdgeRoute {
  return {
    hostname,
    app_id: `app_${hostname.split('.')[0]}`,
    app_name: hostname.split('.')[0] ?? hostname,
    health_path: '/healthz',
    upstreams: upstreams.map((u, i) => ({ id: u.id, address: u.address, weight: weights[i] ?? 1 })),
    ...extra,
  };
}

export function table(revision: number, ...routes: EdgeRoute[]): EdgeRouteTable {
  return { revision, routes, challenges: [], certificates_revision: 0 };
}

/** A keep-alive client to the edge; requests carry whatever Host the test sets. */
export function edgeClient(cleanup: Cleanup, port: number, connections = 8): Pool {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  cleanup.add(() => pool.destroy());
  return pool;
}
