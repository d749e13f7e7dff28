import { afterEach, describe, expect, it } from 'vitest';
// The edge's own test helpers: the `shellwego edge` process and a keep-alive load loop, a small upstream.
import { loadLoop, startEdgeProcess, until, type EdgeProcess } from '../../edge/src/test-edge-process.js';
import { Cleanup, startUpstream } from '../../edge/src/test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** An upstream and `shellwego edge` routing app.test to it from the table a previous run left on disk. */
async function edgeWithApp(): Promise<EdgeProcess> {
  const app = await startUpstream('app', (req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  cleanup.add(() => app.close());
  // No control plane: the edge serves the persisted table, as every new worker does before its link connects.
  const edge = await startEdgeProcess({
    routes: {
      revision: 7,
      routes: [
        {
          hostname: 'app.test',
          app_id: 'app_1',
          app_name: 'app',
          health_path: '/',
          upstreams: [{ id: 'i1', address: app.address, weight: 1 }],
        },
      ],
      challenges: [],
      certificates_revision: 0,
    },
  });
  cleanup.add(() => edge.stop());
  return edge;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('shellwego edge reloads and survives its worker (cluster primary + worker, real processes)', () => {
  it('reloads on SIGHUP three times under keep-alive load without one failed request', async () => {
    const edge = await edgeWithApp();
    const first = await edge.waitForWorker([]);
    const load = loadLoop(edge.httpPort, 'app.test', 4);
    cleanup.add(() => load.stop());
    const workers = [first];
    try {
      await load.more(100);
      for (let reload = 1; reload <= 3; reload++) {
        process.kill(edge.pid, 'SIGHUP');
        const next = await edge.waitForWorker(workers, 60_000);
        const previous = workers.at(-1) ?? -1;
        workers.push(next);
        // The old worker drains and exits; the load keeps going through the new one.
        await until(`worker ${previous} to exit`, () => (isAlive(previous) ? undefined : true), 30_000);
        await load.more(100);
        expect(await edge.workers()).toEqual([next]);
      }
    } finally {
      await load.stop();
    }
    console.info(`3 reloads (workers ${workers.join(' → ')}): ${load.counts.ok} requests, none failed`);
    expect(load.counts.failed).toEqual([]);
    expect(new Set(workers).size).toBe(4);
    // The metrics socket moved to the last worker too.
    const metrics = await fetch(`http://127.0.0.1:${edge.metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/shellwego_edge_requests_total\{app="app",status_class="2xx"\} \d+/);
    expect(await edge.stderr()).toMatch(/SIGHUP: reloading the edge/);
    const stopped = await edge.stop();
    expect(stopped).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(isAlive(pid)).toBe(false);
  }, 240_000);

  it('replaces a SIGKILLed worker at once; the listening socket stays open meanwhile', async () => {
    const edge = await edgeWithApp();
    const killed = await edge.waitForWorker([]);
    const clients = 4;
    const load = loadLoop(edge.httpPort, 'app.test', clients);
    cleanup.add(() => load.stop());
    let replacement: number;
    let servedAgainMs: number;
    try {
      await load.more(100);
      const failedBefore = load.counts.failed.length;
      process.kill(killed, 'SIGKILL');
      const killedAt = Date.now();
      replacement = await edge.waitForWorker([killed], 30_000);
      await load.more(1);
      servedAgainMs = Date.now() - killedAt;
      await load.more(100);
      expect(failedBefore).toBe(0);
    } finally {
      await load.stop();
    }
    console.info(
      `SIGKILL of worker ${killed}: worker ${replacement} served again after ${servedAgainMs} ms; ` +
        `${load.counts.ok} requests ok, failed: ${JSON.stringify(load.counts.failed)}`,
    );
    expect(replacement).not.toBe(killed);
    expect(await edge.workers()).toEqual([replacement]);
    // Generous: the new worker loads the whole bundle on a shared, busy machine.
    expect(servedAgainMs).toBeLessThan(10_000);
    // Only requests in flight in the killed worker may fail (at most one per client connection); a request
    // arriving while no worker exists waits in the backlog instead of being refused.
    expect(load.counts.failed.length).toBeLessThanOrEqual(clients);
    for (const failure of load.counts.failed) expect(failure).not.toMatch(/ECONNREFUSED/);
    expect(await edge.stderr()).toMatch(/edge worker exited \(SIGKILL\); starting a new one/);
  }, 120_000);
});
