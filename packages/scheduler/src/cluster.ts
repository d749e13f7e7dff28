import type { NodeSnapshot, Resources } from './types.js';

const noNodes = new Int32Array(0);

function byId(a: NodeSnapshot, b: NodeSnapshot): number {
  // Code-unit order, not localeCompare: the plan must not depend on the host's locale.
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The working copy of the nodes for one planning pass. Nodes are numbered in id order, so a scan
 * that keeps the first of equal candidates breaks ties by node id. Free resources live in typed
 * arrays because the placement loop reads them once per node per instance.
 */
export class Cluster {
  readonly nodes: readonly NodeSnapshot[];
  readonly freeMemory: Float64Array;
  readonly freeCpu: Float64Array;
  readonly freeDisk: Float64Array;
  /** 1 / capacity (0 for a zero capacity), to turn free amounts into fractions without dividing. */
  readonly memoryScale: Float64Array;
  readonly cpuScale: Float64Array;
  readonly zoneOf: Int32Array;
  readonly zoneCount: number;
  readonly readyCount: number;
  private readonly indexById = new Map<string, number>();
  private readonly readyByRuntime = new Map<string, Int32Array>();
  private readonly holdersByImage = new Map<string, number[]>();

  constructor(nodes: readonly NodeSnapshot[]) {
    this.nodes = [...nodes].sort(byId);
    const n = this.nodes.length;
    this.freeMemory = new Float64Array(n);
    this.freeCpu = new Float64Array(n);
    this.freeDisk = new Float64Array(n);
    this.memoryScale = new Float64Array(n);
    this.cpuScale = new Float64Array(n);
    this.zoneOf = new Int32Array(n);

    const zones = new Map<string | null, number>();
    const ready = new Map<string, number[]>();
    let readyCount = 0;
    this.nodes.forEach((node, i) => {
      this.indexById.set(node.id, i);
      const { memoryBytes, cpuMilli, diskBytes } = node.capacity;
      this.freeMemory[i] = memoryBytes;
      this.freeCpu[i] = cpuMilli;
      this.freeDisk[i] = diskBytes;
      this.memoryScale[i] = memoryBytes > 0 ? 1 / memoryBytes : 0;
      this.cpuScale[i] = cpuMilli > 0 ? 1 / cpuMilli : 0;
      let zone = zones.get(node.zone);
      if (zone === undefined) zones.set(node.zone, (zone = zones.size));
      this.zoneOf[i] = zone;
      for (const digest of node.images) {
        const holders = this.holdersByImage.get(digest);
        if (holders) holders.push(i);
        else this.holdersByImage.set(digest, [i]);
      }
      if (node.status !== 'ready') return;
      readyCount++;
      for (const runtime of new Set(node.runtimes)) {
        const list = ready.get(runtime);
        if (list) list.push(i);
        else ready.set(runtime, [i]);
      }
    });
    this.zoneCount = zones.size;
    this.readyCount = readyCount;
    for (const [runtime, list] of ready) this.readyByRuntime.set(runtime, Int32Array.from(list));
  }

  get size(): number {
    return this.nodes.length;
  }

  nameOf(i: number): string {
    return this.nodes[i]?.name ?? '';
  }

  idOf(i: number): string {
    return this.nodes[i]?.id ?? '';
  }

  indexOf(nodeId: string): number | undefined {
    return this.indexById.get(nodeId);
  }

  /** Ready nodes that offer `runtime`, in id order. */
  readyWithRuntime(runtime: string): Int32Array {
    return this.readyByRuntime.get(runtime) ?? noNodes;
  }

  nodesWithImage(digest: string): readonly number[] {
    return this.holdersByImage.get(digest) ?? [];
  }

  /** Takes an instance's resources off node `i`; overcommitted snapshots simply go negative. */
  reserve(i: number, r: Resources): void {
    this.freeMemory[i] = (this.freeMemory[i] ?? 0) - r.memoryBytes;
    this.freeCpu[i] = (this.freeCpu[i] ?? 0) - r.cpuMilli;
    this.freeDisk[i] = (this.freeDisk[i] ?? 0) - r.diskBytes;
  }
}
