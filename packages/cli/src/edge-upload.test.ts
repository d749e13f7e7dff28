import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdgeProcess } from '../../edge/src/test-edge-process.js';
import { Cleanup, startUpstream } from '../../edge/src/test-upstream.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Streams `size` bytes of one reused 64 KiB chunk: the sender holds no more than a chunk either. */
function generated(size: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < size; sent += chunk.length)
        yield chunk.subarray(0, Math.min(chunk.length, size - sent));
    })(),
  );
}

function upload(port: number, host: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/upload',
        headers: { host, 'content-length': String(size), 'content-type': 'application/octet-stream' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(generated(size), req).catch(reject);
  });
}

describe('a 1 GiB upload through `shellwego edge`', () => {
  it('reaches the upstream whole while the edge worker’s memory stays flat', async () => {
    // The upstream counts bytes as they come and keeps none of them.
    const app = await startUpstream('sink', (req, res) => {
      let received = 0;
      req.on('data', (data: Buffer) => (received += data.length));
      req.on('end', () => res.end(String(received)));
    });
    cleanup.add(() => app.close());
    const edge = await startEdgeProcess({
      routes: {
        revision: 1,
        routes: [
          {
            hostname: 'big.test',
            app_id: 'app_big',
            app_name: 'big',
            health_path: '/',
            upstreams: [{ id: 'i1', address: app.address, weight: 1 }],
          },
        ],
        challenges: [],
        certificates_revision: 0,
      },
    });
    cleanup.add(() => edge.stop());
    const worker = (await edge.servingWorker()) ?? -1;
    // Warm up (pools, JIT) before the baseline.
    expect(await upload(edge.httpPort, 'big.test', 8 * MiB)).toEqual({ status: 200, body: String(8 * MiB) });
    const baseline = await rssOf(worker);
    let peak = baseline;
    const sampler = setInterval(() => {
      rssOf(worker).then(
        (rss) => (peak = Math.max(peak, rss)),
        () => undefined,
      );
    }, 100);
    const started = Date.now();
    let result: { status: number; body: string };
    try {
      result = await upload(edge.httpPort, 'big.test', SIZE);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    expect(result).toEqual({ status: 200, body: String(SIZE) });
    const growth = Math.max(peak, await rssOf(worker)) - baseline;
    // For the record (visible with --reporter=verbose): throughput and memory of this run.
    console.info(
      `1 GiB through the edge in ${seconds.toFixed(1)} s (${(SIZE / MiB / seconds).toFixed(0)} MiB/s); ` +
        `worker RSS ${(baseline / MiB).toFixed(0)} MiB, peak +${(growth / MiB).toFixed(1)} MiB`,
    );
    expect(growth).toBeLessThan(100 * MiB);
  }, 300_000);
});
