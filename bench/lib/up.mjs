// `shellwego up` as a bench's platform: spawned from the built binary, logged into as the first admin.
import { spawn } from 'node:child_process';
import { clearInterval, setInterval } from 'node:timers';
import { fetch } from 'undici';
import { children } from './lifecycle.mjs';

/**
 * Starts `up` on `dir` with its agent on its own bridge, subnet and interface prefix, waits for the
 * banner's password, logs in and returns the process and an API caller that throws on any non-2xx answer (204
 * gives {}). Metrics ports are picked freely; logs are errors only (`BENCH_LOG_LEVEL` to change). `extraArgs` go to `up` as they are.
 */
export async function startUp(
  cli,
  { dir, apiPort, httpPort, httpsPort, bridge, prefix, subnet, extraArgs = [] },
) {
  const api = `http://127.0.0.1:${apiPort}`;
  // prettier-ignore
  const args = [
    'up', '--data-dir', dir, '--api-port', String(apiPort), '--http-port', String(httpPort),
    '--https-port', String(httpsPort), '--bridge', bridge, '--subnet', subnet, '--network-prefix', prefix,
    '--agent-metrics-port', '0', '--edge-metrics-port', '0', '--log-level', process.env.BENCH_LOG_LEVEL ?? 'error', ...extraArgs,
  ];
  const up = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(up);
  let banner = '';
  up.stdout.on('data', (d) => (banner += d));
  const password = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = /Password:\s+(\S+)/.exec(banner);
      if (m) {
        clearInterval(t);
        resolve(m[1]);
      }
    }, 50);
    up.once('exit', (code) => reject(new Error(`up exited with ${code}`)));
  });
  const login = await fetch(`${api}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@shellwego.local', password }),
  });
  const { access_token: token } = await login.json();
  const call = async (method, path, body) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = res.status === 204 ? {} : await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return { up, api, call };
}
