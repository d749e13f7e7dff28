import { Cluster } from './cluster.js';
import { explainNoFit } from './reasons.js';
import { RequestView } from './request-view.js';
import { pickNode } from './score.js';
import { AppSpread } from './spread.js';
import type { ClusterSnapshot, Placement, PlacementFailure, PlacementRequest, PlanResult } from './types.js';
import { invalidRequestReason } from './validate.js';

/**
 * Places the requests, in the order given, on the snapshot's nodes. Each placement holds its
 * resources for the requests after it. A request that cannot be placed in full keeps what was
 * placed and adds a failure saying why. Pure: the same input always gives the same plan,
 * whatever the order of `snapshot.nodes`.
 */
export function place(snapshot: ClusterSnapshot, requests: readonly PlacementRequest[]): PlanResult {
  const cluster = new Cluster(snapshot.nodes);
  const spread = new AppSpread();
  for (const instance of snapshot.instances) {
    const i = cluster.indexOf(instance.nodeId);
    // An instance on a node missing from the snapshot holds nothing the scheduler can use.
    if (i === undefined) continue;
    cluster.reserve(i, instance);
    spread.add(instance.appId, i, cluster.zoneOf[i] ?? 0);
  }

  const view = new RequestView(cluster, spread);
  const placements: Placement[] = [];
  const failures: PlacementFailure[] = [];
  const fail = (request: PlacementRequest, placed: number, reason: string) =>
    failures.push({ appId: request.appId, appName: request.appName, wanted: request.count, placed, reason });

  for (const request of requests) {
    const invalid = invalidRequestReason(request);
    if (invalid !== undefined) {
      fail(request, 0, invalid);
      continue;
    }
    if (request.count === 0) continue;
    const candidates = cluster.readyWithRuntime(request.runtime);
    view.open(request);
    let placed = 0;
    while (placed < request.count) {
      const i = pickNode(cluster, candidates, view, request);
      // Free capacity only shrinks within a request, so once nothing fits nothing will.
      if (i < 0) break;
      cluster.reserve(i, request);
      view.note(i);
      placements.push({ appId: request.appId, nodeId: cluster.idOf(i) });
      placed++;
    }
    if (placed < request.count) fail(request, placed, explainNoFit(cluster, request, view.excluded));
    view.close();
  }
  return { placements, failures };
}
