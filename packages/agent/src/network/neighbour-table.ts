import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The kernel's ARP cache limits; written in the host's namespace, they bound the entries of every namespace. */
export const NEIGHBOUR_SYSCTL_DIR = '/proc/sys/net/ipv4/neigh/default';

export interface NeighbourLimits {
  /** Below this many entries the garbage collector leaves the cache alone. */
  gc_thresh1: number;
  /** Above this many it collects every 5 s, dropping entries that are not in use. */
  gc_thresh2: number;
  /** The hard limit: beyond it no new neighbour is resolved ("neighbor table overflow!") and packets to it drop. */
  gc_thresh3: number;
}

/** Entries the rest of the host may hold beside the instances (its own LAN, other bridges). */
const HOST_ROOM = 1024;

/**
 * The limits a node with `instances` addresses on its bridge needs, or undefined when the current ones suffice.
 * The table is one for all namespaces: every instance the host talks to takes an entry on the host side and one in
 * its own namespace (the gateway), so Debian's defaults (128/512/1024) stall a node at about 500 instances: health
 * checks to new instances time out as their addresses never resolve. Only ever raised: an operator's higher
 * figures stay.
 */
export function neighbourLimitsFor(instances: number, current: NeighbourLimits): NeighbourLimits | undefined {
  const needed = 2 * instances + HOST_ROOM;
  if (current.gc_thresh2 >= needed && current.gc_thresh3 >= 2 * needed) return undefined;
  const gc_thresh2 = Math.max(current.gc_thresh2, needed);
  // The hard limit never below the soft one.
  return {
    gc_thresh1: current.gc_thresh1,
    gc_thresh2,
    gc_thresh3: Math.max(current.gc_thresh3, 2 * needed, gc_thresh2),
  };
}

const names = ['gc_thresh1', 'gc_thresh2', 'gc_thresh3'] as const;

export async function readNeighbourLimits(dir = NEIGHBOUR_SYSCTL_DIR): Promise<NeighbourLimits> {
  const [a, b, c] = await Promise.all(
    names.map(async (n) => Number((await readFile(join(dir, n), 'utf8')).trim())),
  );
  return { gc_thresh1: a ?? 0, gc_thresh2: b ?? 0, gc_thresh3: c ?? 0 };
}

/**
 * Raises the ARP cache limits so `instances` neighbours fit; returns the new limits, or undefined when nothing
 * changed. The hard limit is written first, so the soft one is never above it, even for a moment.
 */
export async function ensureNeighbourRoom(
  instances: number,
  dir = NEIGHBOUR_SYSCTL_DIR,
): Promise<NeighbourLimits | undefined> {
  const next = neighbourLimitsFor(instances, await readNeighbourLimits(dir));
  if (next === undefined) return undefined;
  for (const n of ['gc_thresh3', 'gc_thresh2'] as const) await writeFile(join(dir, n), `${next[n]}\n`);
  return next;
}
