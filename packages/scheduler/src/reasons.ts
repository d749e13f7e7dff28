import type { Cluster } from './cluster.js';
import { formatBytes, formatCpu, listNames } from './format.js';
import type { NodeSnapshot, PlacementRequest } from './types.js';

/**
 * Why the next instance of `request` fits nowhere, naming the tightest constraint so an operator
 * knows what to change: add nodes, free a runtime, lower the request, or lift an exclusion.
 */
export function explainNoFit(cluster: Cluster, request: PlacementRequest, excluded: Uint8Array): string {
  if (cluster.readyCount === 0) return `no ready nodes${notReadyTally(cluster.nodes)}`;
  const withRuntime = cluster.readyWithRuntime(request.runtime);
  if (withRuntime.length === 0) {
    return `no ready node offers the ${request.runtime} runtime${notReadyOffering(cluster.nodes, request.runtime)}`;
  }
  const open: number[] = [];
  const excludedNames: string[] = [];
  for (const i of withRuntime) {
    if (excluded[i] === 1) excludedNames.push(cluster.nameOf(i));
    else open.push(i);
  }
  if (open.length === 0) {
    return `every ready node with the ${request.runtime} runtime is excluded for this request (${listNames(excludedNames)})`;
  }
  const note =
    excludedNames.length === 0
      ? ''
      : ` (${listNames(excludedNames)} ${excludedNames.length === 1 ? 'is' : 'are'} excluded)`;
  return resourceShortfall(cluster, request, open) + note;
}

interface Dimension {
  free: Float64Array;
  need: number;
  noun: string;
  /** An amount with its unit: "512 MiB of memory", "1500m CPU". */
  describe: (amount: number, rounding: 'up' | 'down') => string;
  /** The bare amount, for "the largest free is 300 MiB". */
  amount: (amount: number) => string;
  /** Sizes are large, CPU is much: "the largest free is" / "the most free is". */
  mostFree: string;
}

function dimensionsOf(cluster: Cluster, request: PlacementRequest): Dimension[] {
  const size = (amount: number) => formatBytes(amount, 'down');
  return [
    {
      free: cluster.freeMemory,
      need: request.memoryBytes,
      noun: 'memory',
      describe: (amount, rounding) => `${formatBytes(amount, rounding)} of memory`,
      amount: size,
      mostFree: 'the largest free is',
    },
    {
      free: cluster.freeCpu,
      need: request.cpuMilli,
      noun: 'CPU',
      describe: (amount) => `${formatCpu(amount)} CPU`,
      amount: formatCpu,
      mostFree: 'the most free is',
    },
    {
      free: cluster.freeDisk,
      need: request.diskBytes,
      noun: 'disk',
      describe: (amount, rounding) => `${formatBytes(amount, rounding)} of disk`,
      amount: size,
      mostFree: 'the largest free is',
    },
  ];
}

/** How far `free` is from covering `need`: 1 or less fits, Infinity when nothing is free. */
function shortfall(need: number, free: number): number {
  if (need <= free) return need / Math.max(free, Number.MIN_VALUE);
  return free <= 0 ? Infinity : need / free;
}

function resourceShortfall(cluster: Cluster, request: PlacementRequest, open: readonly number[]): string {
  const dimensions = dimensionsOf(cluster, request);

  // One resource no open node has enough of: name it; if several, the one furthest from fitting.
  let tightest: { dimension: Dimension; node: number; ratio: number } | undefined;
  for (const dimension of dimensions) {
    let node = open[0] ?? 0;
    for (const i of open) if ((dimension.free[i] ?? 0) > (dimension.free[node] ?? 0)) node = i;
    const ratio = shortfall(dimension.need, dimension.free[node] ?? 0);
    if (ratio > 1 && (!tightest || ratio > tightest.ratio)) tightest = { dimension, node, ratio };
  }
  if (tightest) {
    const { dimension, node } = tightest;
    const needs = dimension.describe(dimension.need, 'up');
    const mostFree = dimension.free[node] ?? 0;
    if (mostFree <= 0) {
      const nodes =
        open.length === 1
          ? `the only ready ${request.runtime} node is`
          : `all ${open.length} ready ${request.runtime} nodes are`;
      return `needs ${needs}; ${nodes} out of ${dimension.noun}`;
    }
    return `needs ${needs}; ${dimension.mostFree} ${dimension.amount(mostFree)} on ${cluster.nameOf(node)}`;
  }

  // Each resource is free somewhere, but never all on one node: show the node that came closest.
  let closest = open[0] ?? 0;
  let closestRatio = Infinity;
  for (const i of open) {
    let ratio = 0;
    for (const d of dimensions) ratio = Math.max(ratio, shortfall(d.need, d.free[i] ?? 0));
    if (ratio < closestRatio) [closest, closestRatio] = [i, ratio];
  }
  const shown = dimensions.filter((d) => d.need > 0 || d.need > (d.free[closest] ?? 0));
  const needs = joinAnd(shown.map((d) => d.describe(d.need, 'up')));
  const has = joinAnd(shown.map((d) => d.describe(d.free[closest] ?? 0, 'down')));
  return `no node has ${needs} free at once; the closest is ${cluster.nameOf(closest)}, with ${has} free`;
}

function joinAnd(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
}

/** " (2 unreachable, 1 draining)": which way to look when nothing is ready. */
function notReadyTally(nodes: readonly NodeSnapshot[]): string {
  const tally = new Map<string, number>();
  for (const node of nodes) tally.set(node.status, (tally.get(node.status) ?? 0) + 1);
  const parts = [...tally].map(([status, count]) => `${count} ${status}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** " (node-4 offers it but is draining)": the runtime exists, just not on a ready node. */
function notReadyOffering(nodes: readonly NodeSnapshot[], runtime: string): string {
  const offering = nodes.filter((n) => n.status !== 'ready' && n.runtimes.includes(runtime));
  const [first] = offering;
  if (!first) return '';
  if (offering.length === 1) return ` (${first.name} offers it but is ${first.status})`;
  return ` (${listNames(offering.map((n) => n.name))} offer it but are not ready)`;
}
