import { afterEach, describe, expect, it } from 'vitest';
import { edgeClient, route, startTestEdge, table } from '../test-edge.js';
import { Cleanup, startUpstream, type EchoReply } from '../test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('active health checks', () => {
  it('takes an upstream that fails its health path out of rotation and brings it back', async () => {
    let isSick = false;
    const checks: string[] = [];
    const sick = await startUpstream('sick', (req, res) => {
      if (req.url === '/healthz') {
        checks.push(String(req.headers.host));
        res.statusCode = isSick ? 500 : 200;
        return res.end();
      }
      res.end(JSON.stringify({ id: 'sick' }));
    });
    const well = await startUpstream('well');
    cleanup.add(() => sick.close());
    cleanup.add(() => well.close());
    const edge = await startTestEdge(cleanup, { healthCheck: { intervalMs: 60_000 } });
    await edge.swap(table(1, route('app.test', [sick, well])));
    const client = edgeClient(cleanup, edge.httpPort);
    const servedBy = async (n: number) => {
      const ids = new Set<string>();
      for (let i = 0; i < n; i++) {
        const response = await client.request({ path: '/', method: 'GET', headers: { host: 'app.test' } });
        ids.add(((await response.body.json()) as EchoReply).id);
      }
      return ids;
    };

    isSick = true;
    await edge.checkHealth();
    expect(checks).toEqual(['app.test']);
    expect(await servedBy(6)).toEqual(new Set(['well']));

    isSick = false;
    await edge.checkHealth();
    expect(await servedBy(6)).toEqual(new Set(['sick', 'well']));
  });

  it('checks a table of many upstreams a few at a time, every one of them', async () => {
    let inFlight = 0;
    let most = 0;
    const checked = new Set<string>();
    const upstreams = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        startUpstream(`u${i}`, (_req, res) => {
          inFlight++;
          most = Math.max(most, inFlight);
          checked.add(`u${i}`);
          setTimeout(() => {
            inFlight--;
            res.end();
          }, 30);
        }),
      ),
    );
    for (const u of upstreams) cleanup.add(() => u.close());
    const edge = await startTestEdge(cleanup, { healthCheck: { intervalMs: 60_000, concurrency: 4 } });
    await edge.swap(table(1, route('app.test', upstreams)));
    await edge.checkHealth();
    expect(checked.size).toBe(24);
    expect(most).toBe(4);
  });

  it('runs on its interval', async () => {
    let checks = 0;
    const app = await startUpstream('a', (_req, res) => {
      checks++;
      res.end();
    });
    cleanup.add(() => app.close());
    const edge = await startTestEdge(cleanup, { healthCheck: { intervalMs: 50 } });
    await edge.swap(table(1, route('app.test', [app])));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(checks).toBeGreaterThanOrEqual(3);
  });
});
