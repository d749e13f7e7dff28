import type { Cluster } from './cluster.js';
import type { RequestView } from './request-view.js';
import type { Resources } from './types.js';

/**
 * The node for the next instance, or -1 when none has room. Preference, in order: fewest instances
 * of the app on the node, then in its zone, then holding the image, then the most headroom (the
 * smaller of the free memory and free CPU fractions, so a CPU-bound node does not look idle), then
 * the lowest node id. `candidates` are in id order, so keeping the first of equals does the last.
 *
 * This runs once per placed instance over every candidate node; it reads only typed arrays.
 */
export function pickNode(
  cluster: Cluster,
  candidates: Int32Array,
  view: RequestView,
  need: Resources,
): number {
  const { freeMemory, freeCpu, freeDisk, memoryScale, cpuScale, zoneOf } = cluster;
  const { excluded, hasImage, appOnNode, appInZone } = view;
  const { memoryBytes, cpuMilli, diskBytes } = need;
  let best = -1;
  let bestOnNode = 0;
  let bestInZone = 0;
  let bestImage = 0;
  let bestHeadroom = 0;
  // Every index below comes from the cluster's own numbering, so the `!` reads are in range.
  for (let k = 0; k < candidates.length; k++) {
    const i = candidates[k]!;
    const memory = freeMemory[i]!;
    const cpu = freeCpu[i]!;
    if (excluded[i] === 1 || memory < memoryBytes || cpu < cpuMilli || freeDisk[i]! < diskBytes) continue;
    const onNode = appOnNode[i]!;
    const inZone = appInZone[zoneOf[i]!]!;
    const image = hasImage[i]!;
    const headroom = Math.min(memory * memoryScale[i]!, cpu * cpuScale[i]!);
    if (
      best === -1 ||
      onNode < bestOnNode ||
      (onNode === bestOnNode &&
        (inZone < bestInZone ||
          (inZone === bestInZone && (image > bestImage || (image === bestImage && headroom > bestHeadroom)))))
    ) {
      best = i;
      bestOnNode = onNode;
      bestInZone = inZone;
      bestImage = image;
      bestHeadroom = headroom;
    }
  }
  return best;
}
