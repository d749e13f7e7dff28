import type { Cluster } from './cluster.js';
import type { AppSpread } from './spread.js';
import type { PlacementRequest } from './types.js';

/**
 * One request's facts about every node, as dense arrays the placement scan can read without a map
 * lookup. Allocated once per pass and refilled per request; `close` zeroes only what `open` and
 * `note` wrote, so a request costs what its app touches, not the size of the cluster.
 */
export class RequestView {
  readonly excluded: Uint8Array;
  readonly hasImage: Uint8Array;
  readonly appOnNode: Int32Array;
  readonly appInZone: Int32Array;
  private excludedNodes: number[] = [];
  private imageNodes: readonly number[] = [];
  private appId = '';

  constructor(
    private readonly cluster: Cluster,
    private readonly spread: AppSpread,
  ) {
    this.excluded = new Uint8Array(cluster.size);
    this.hasImage = new Uint8Array(cluster.size);
    this.appOnNode = new Int32Array(cluster.size);
    this.appInZone = new Int32Array(cluster.zoneCount);
  }

  open(request: PlacementRequest): void {
    this.appId = request.appId;
    this.excludedNodes = [];
    for (const id of request.excludeNodes ?? []) {
      const i = this.cluster.indexOf(id);
      if (i !== undefined) this.excludedNodes.push(i);
    }
    for (const i of this.excludedNodes) this.excluded[i] = 1;
    this.imageNodes = request.imageDigest ? this.cluster.nodesWithImage(request.imageDigest) : [];
    for (const i of this.imageNodes) this.hasImage[i] = 1;
    for (const [i, count] of this.spread.nodesOf(request.appId)) this.appOnNode[i] = count;
    for (const [zone, count] of this.spread.zonesOf(request.appId)) this.appInZone[zone] = count;
  }

  /** Records one more instance of the open request's app on node `i`. */
  note(i: number): void {
    const zone = this.cluster.zoneOf[i] ?? 0;
    this.spread.add(this.appId, i, zone);
    this.appOnNode[i] = (this.appOnNode[i] ?? 0) + 1;
    this.appInZone[zone] = (this.appInZone[zone] ?? 0) + 1;
  }

  close(): void {
    for (const i of this.excludedNodes) this.excluded[i] = 0;
    for (const i of this.imageNodes) this.hasImage[i] = 0;
    // The spread now holds every node and zone `note` touched, so this clears them all.
    for (const i of this.spread.nodesOf(this.appId).keys()) this.appOnNode[i] = 0;
    for (const zone of this.spread.zonesOf(this.appId).keys()) this.appInZone[zone] = 0;
  }
}
