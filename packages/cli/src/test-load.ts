import { Agent, request as httpRequest } from 'node:http';

/** Polls `fn` every 200 ms until it returns something other than undefined (a throw counts as not yet). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface LoadCounts {
  ok: number;
  /** Each failed request: when it ended (Date.now()) and what it got. */
  failed: { at: number; what: string }[];
  bodies: Set<string>;
}

/**
 * GETs `/` with `Host: host` in two loops over one keep-alive pool against the edge on 127.0.0.1:port, until
 * stopped; counts answers by body and failures (any status but 200, or a transport error) with their times.
 */
export function loadLoop(port: number, host: string): { stop: () => Promise<LoadCounts> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const counts: LoadCounts = { ok: 0, failed: [], bodies: new Set() };
  let running = true;
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 5000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => {
            if (res.statusCode === 200) {
              counts.ok++;
              counts.bodies.add(body);
            } else
              counts.failed.push({ at: Date.now(), what: `${res.statusCode ?? 0} ${body.slice(0, 80)}` });
            resolve();
          });
        },
      );
      req.on('error', (e) => {
        counts.failed.push({ at: Date.now(), what: e.message });
        resolve();
      });
      req.end();
    });
  const loops = [0, 1].map(async () => {
    while (running) await once();
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return counts;
    },
  };
}
