import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NEIGHBOUR_SYSCTL_DIR,
  ensureNeighbourRoom,
  neighbourLimitsFor,
  readNeighbourLimits,
} from './neighbour-table.js';

const debian = { gc_thresh1: 128, gc_thresh2: 512, gc_thresh3: 1024 };

describe('the ARP cache limits', () => {
  it('grow to two entries per instance address plus room for the host, and never shrink', () => {
    // A /22 (1,021 instances): Debian's limits would overflow at ~500 running instances.
    expect(neighbourLimitsFor(1021, debian)).toEqual({ gc_thresh1: 128, gc_thresh2: 3066, gc_thresh3: 6132 });
    // An operator's higher figures stay, and then nothing is written.
    const big = { gc_thresh1: 80_000, gc_thresh2: 90_000, gc_thresh3: 100_000 };
    expect(neighbourLimitsFor(1021, big)).toBeUndefined();
    // A hard limit below the soft one is raised to it at least.
    expect(neighbourLimitsFor(1021, { ...big, gc_thresh3: 4_000 })).toEqual({ ...big, gc_thresh3: 90_000 });
  });

  it('are written when short, and only then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swg-neigh-'));
    try {
      for (const [n, v] of Object.entries(debian)) await writeFile(join(dir, n), `${v}\n`);
      expect(await ensureNeighbourRoom(253, dir)).toEqual({
        gc_thresh1: 128,
        gc_thresh2: 1530,
        gc_thresh3: 3060,
      });
      expect(await readNeighbourLimits(dir)).toEqual({ gc_thresh1: 128, gc_thresh2: 1530, gc_thresh3: 3060 });
      expect(await readFile(join(dir, 'gc_thresh3'), 'utf8')).toBe('3060\n');
      expect(await ensureNeighbourRoom(253, dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads this host's limits", async () => {
    const limits = await readNeighbourLimits(NEIGHBOUR_SYSCTL_DIR);
    expect(limits.gc_thresh3).toBeGreaterThanOrEqual(limits.gc_thresh2);
    expect(limits.gc_thresh1).toBeGreaterThan(0);
  });
});
