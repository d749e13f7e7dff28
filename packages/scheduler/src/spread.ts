/**
 * How many instances of each app are on each node and in each zone, counting the snapshot and
 * everything placed so far in this pass. Sparse, because most apps touch few of the nodes.
 */
export class AppSpread {
  private readonly byNode = new Map<string, Map<number, number>>();
  private readonly byZone = new Map<string, Map<number, number>>();

  add(appId: string, node: number, zone: number): void {
    bump(this.byNode, appId, node);
    bump(this.byZone, appId, zone);
  }

  /** The app's node counts, keyed by node index. */
  nodesOf(appId: string): ReadonlyMap<number, number> {
    return this.byNode.get(appId) ?? empty;
  }

  /** The app's zone counts, keyed by zone index. */
  zonesOf(appId: string): ReadonlyMap<number, number> {
    return this.byZone.get(appId) ?? empty;
  }
}

const empty: ReadonlyMap<number, number> = new Map();

function bump(counts: Map<string, Map<number, number>>, appId: string, key: number): void {
  let app = counts.get(appId);
  if (!app) counts.set(appId, (app = new Map<number, number>()));
  app.set(key, (app.get(key) ?? 0) + 1);
}
