// Timing a deploy as a user sees it: from the API call to the first 200 of the new release through the edge.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** p-th percentile of `xs` (nearest rank). */
export const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/**
 * GET / through the edge on 127.0.0.1:httpPort with `Host: host`, over a keep-alive pool; `{status, body}`,
 * status 0 with the error's message when the request failed.
 */
export function edgeGetter(httpPort) {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
  const get = (host) =>
    new Promise((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: httpPort, path: '/', headers: { host }, agent: keepAlive, timeout: 5000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        },
      );
      req.on('error', (e) => resolve({ status: 0, body: e.message }));
      req.end();
    });
  return { get, close: () => keepAlive.destroy() };
}

/**
 * Deploys `reference` to `app` and returns ms until the edge answers 200 with `page\n`; throws when the deployment
 * fails. With BENCH_VERBOSE set, prints the deployment's steps with their offsets from its creation.
 */
export async function timedDeploy({ call, get }, app, reference, page) {
  const started = performance.now();
  const dep = await call('POST', `/v1/apps/${app}/deployments`, { image: reference });
  if (!dep.id) throw new Error(`deploy refused: ${JSON.stringify(dep)}`);
  for (;;) {
    const r = await get(`${app}.localhost`);
    if (r.status === 200 && r.body === `${page}\n`) {
      const ms = performance.now() - started;
      if (process.env.BENCH_VERBOSE) {
        const d = await call('GET', `/v1/deployments/${dep.id}`);
        const t0 = Date.parse(d.created_at);
        console.log(
          `${app} ${page}: ${ms.toFixed(0)} ms; ${d.steps.map((st) => `${st.status}+${Date.parse(st.at) - t0}`).join(' ')}`,
        );
      }
      return ms;
    }
    const d = await call('GET', `/v1/deployments/${dep.id}`);
    if (['failed', 'rolled_back', 'cancelled'].includes(d.status))
      throw new Error(`deploy ${d.status}: ${d.reason}`);
    await sleep(5);
  }
}
