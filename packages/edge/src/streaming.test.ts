import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { edgeClient, route, startTestEdge, table } from './test-edge.js';
import { Cleanup, startUpstream } from './test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const mib = 1024 * 1024;
const size = 200 * mib;
const chunk = Buffer.alloc(64 * 1024, 7);

function generated(bytes: number): Readable {
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < bytes; sent += chunk.length) yield chunk;
    })(),
  );
}

/** Samples RSS every 20 ms while `work` runs; returns the peak growth over the starting RSS. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  global.gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage.rss()) - start;
}

describe('streaming bodies', () => {
  it('streams a 200 MB upload and a 200 MB download with flat memory', async () => {
    const app = await startUpstream('big', (req, res) => {
      if (req.method === 'POST') {
        let received = 0;
        req.on('data', (data: Buffer) => (received += data.length));
        req.on('end', () => res.end(String(received)));
        return;
      }
      res.writeHead(200, { 'content-length': String(size) });
      generated(size).pipe(res);
    });
    cleanup.add(() => app.close());
    const edge = await startTestEdge(cleanup);
    await edge.swap(table(1, route('big.test', [app])));
    const client = edgeClient(cleanup, edge.httpPort, 1);

    const uploadGrowth = await peakRssGrowth(async () => {
      const response = await client.request({
        path: '/upload',
        method: 'POST',
        headers: { host: 'big.test', 'content-length': String(size) },
        body: generated(size),
      });
      expect(await response.body.text()).toBe(String(size));
    });

    let downloaded = 0;
    const downloadGrowth = await peakRssGrowth(async () => {
      const response = await client.request({
        path: '/download',
        method: 'GET',
        headers: { host: 'big.test' },
      });
      for await (const data of response.body) downloaded += (data as Buffer).length;
    });
    expect(downloaded).toBe(size);
    expect(uploadGrowth).toBeLessThan(100 * mib);
    expect(downloadGrowth).toBeLessThan(100 * mib);
  });
});
