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
