// The edge's figures (issue 5): wrk against the edge, Caddy and nginx side by side, all proxying to
// the same upstream (nginx answering a 13-byte body from one worker), over plain HTTP and TLS.
// Reports requests/s, p50/p99 latency, CPU µs per request (utime+stime of the proxy's processes from
// /proc over the run) and the edge's RSS under load.
//
// Usage: npx tsc -b packages/edge && node bench/edge.mjs
// Needs wrk, caddy, nginx and openssl (Debian packages). Knobs: BENCH_DURATION (s, default 10),
// BENCH_CONNECTIONS (default 64), BENCH_WARMUP (s, default 2).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { children, intEnv, makeTempDir, requireBuilt } from './lib/lifecycle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const built = 'packages/edge/dist/index.js';

const settings = {
  duration: intEnv('BENCH_DURATION', 10),
  connections: intEnv('BENCH_CONNECTIONS', 64),
  warmup: intEnv('BENCH_WARMUP', 2),
};
const hostname = 'localhost'; // wrk sends the URL's host as SNI and Host, so every proxy routes this name
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

if (process.argv[2] === '--serve-edge') {
  await serveEdge(JSON.parse(process.argv[3]));
} else {
  if (!requireBuilt(root, [built], 'node bench/edge.mjs')) process.exit(1);
  await main();
}

/** The child: a full edge (routes, TLS, metrics, JSON access log to a file) on the given ports. */
async function serveEdge({ httpPort, httpsPort, upstream, dir, key, cert }) {
  const { startEdge, staticCertificates } = await import(pathToFileURL(join(root, built)).href);
  const { pino } = await import('pino');
  const { Registry } = await import('prom-client');
  const pem = { key: readFileSync(key), cert: readFileSync(cert) };
  const edge = await startEdge({
    httpPort,
    httpsPort,
    stateDir: join(dir, 'edge-state'),
    certificates: staticCertificates({ default: pem, byHostname: { [hostname]: pem } }),
    // Buffered like a production access log: one write per 4 KiB of lines, not per line.
    logger: pino(pino.destination({ dest: join(dir, 'edge-access.log'), sync: false, minLength: 4096 })),
    metricsRegistry: new Registry(),
    // Caddy and nginx serve the plain-HTTP site too (no redirect), so the plain run measures proxying alike.
    redirectToHttps: false,
  });
  await edge.swap({
    revision: 1,
    challenges: [],
    certificates_revision: 0,
    routes: [
      {
        hostname,
        app_id: 'app_bench',
        app_name: 'bench',
        health_path: '/',
        upstreams: [{ id: 'u1', address: upstream, weight: 1 }],
      },
    ],
  });
  process.send?.({ type: 'ready' });
}

async function main() {
  const dir = makeTempDir('swg-bench-edge-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${hostname}`,
      '-addext',
      `subjectAltName=DNS:${hostname}`,
    ],
    { stdio: 'ignore' },
  );

  const upstreamPort = await freePort();
  await startNginx(
    dir,
    'upstream',
    `
    server { listen 127.0.0.1:${upstreamPort}; keepalive_requests 100000;
      location / { return 200 "hello, world\\n"; } }`,
  );
  const upstream = `127.0.0.1:${upstreamPort}`;

  const proxies = [];
  {
    const [http, https] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--serve-edge',
        JSON.stringify({ httpPort: http, httpsPort: https, upstream, dir, key, cert }),
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    children.add(child);
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`edge exited with ${code}`)));
    });
    proxies.push({ name: 'edge', pids: () => [child.pid], http, https });
  }
  {
    const [http, https] = [await freePort(), await freePort()];
    const caddyfile = join(dir, 'Caddyfile');
    writeFileSync(
      caddyfile,
      `{
  admin off
  auto_https off
  http_port ${http}
  https_port ${https}
  log {
    output discard
  }
}
http://${hostname}:${http} {
  reverse_proxy ${upstream}
}
https://${hostname}:${https} {
  tls ${cert} ${key}
  reverse_proxy ${upstream}
}
`,
    );
    const child = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    children.add(child);
    await waitForPort(http);
    await waitForPort(https);
    proxies.push({ name: 'caddy', pids: () => [child.pid], http, https });
  }
  {
    const [http, https] = [await freePort(), await freePort()];
    const nginx = await startNginx(
      dir,
      'proxy',
      `
    upstream app { server ${upstream}; keepalive 64; }
    server {
      listen 127.0.0.1:${http}; listen 127.0.0.1:${https} ssl http2; server_name ${hostname};
      ssl_certificate ${cert}; ssl_certificate_key ${key};
      location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
        proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; } }`,
    );
    await waitForPort(https);
    proxies.push({ name: 'nginx', pids: nginx.pids, http, https });
  }

  const loadStart = os.loadavg()[0];
  const results = [];
  for (const scheme of ['http', 'https']) {
    for (const proxy of proxies) {
      const url = `${scheme}://${hostname}:${proxy[scheme]}/`;
      wrk(url, settings.warmup);
      const before = cpuTicks(proxy.pids());
      const run = wrk(url, settings.duration);
      const cpuMicros = ((cpuTicks(proxy.pids()) - before) / clockTicks) * 1e6;
      const rss = proxy.pids().reduce((sum, pid) => sum + rssOf(pid), 0);
      results.push({
        scheme,
        proxy: proxy.name,
        ...run,
        cpuPerRequestUs: cpuMicros / run.requests,
        rssMiB: rss / 1048576,
      });
      if (run.errors > 0) console.error(`bench: ${proxy.name} ${scheme}: ${run.errors} errors`);
    }
  }
  const loadEnd = os.loadavg()[0];

  const pad = (value, width) => String(value).padStart(width);
  console.log(
    `\nwrk -t1 -c${settings.connections} -d${settings.duration}s, ${os.cpus().length} CPUs, load ${loadStart.toFixed(2)} → ${loadEnd.toFixed(2)}`,
  );
  console.log(
    `${'proxy'.padEnd(14)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('CPU µs/req', 12)}${pad('RSS MiB', 9)}${pad('errors', 8)}`,
  );
  for (const r of results) {
    console.log(
      `${`${r.proxy} ${r.scheme}`.padEnd(14)}${pad(Math.round(r.rps), 10)}${pad(r.p50.toFixed(2), 9)}${pad(r.p99.toFixed(2), 9)}${pad(r.cpuPerRequestUs.toFixed(1), 12)}${pad(r.rssMiB.toFixed(1), 9)}${pad(r.errors, 8)}`,
    );
  }
  for (const scheme of ['http', 'https']) {
    const of = (name) => results.find((r) => r.scheme === scheme && r.proxy === name);
    const [edge, caddy, nginx] = [of('edge'), of('caddy'), of('nginx')];
    console.log(
      `${scheme}: edge/caddy throughput ${(edge.rps / caddy.rps).toFixed(2)}x, p99 ${(edge.p99 / caddy.p99).toFixed(2)}x; ` +
        `edge/nginx throughput ${(edge.rps / nginx.rps).toFixed(2)}x, CPU per request ${(edge.cpuPerRequestUs / nginx.cpuPerRequestUs).toFixed(2)}x`,
    );
  }
  const file = join(here, 'results', 'edge.json');
  writeFileSync(file, JSON.stringify({ settings, loadStart, loadEnd, results }, null, 2));
  console.log(`wrote ${file}`);
  process.exit(results.some((r) => r.errors > 0) ? 1 : 0);
}

async function startNginx(dir, name, http) {
  const prefix = join(dir, `nginx-${name}`);
  execFileSync('mkdir', ['-p', join(prefix, 'logs')]);
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${prefix}/nginx.pid; error_log ${prefix}/logs/error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${prefix}; proxy_temp_path ${prefix}; fastcgi_temp_path ${prefix};
  uwsgi_temp_path ${prefix}; scgi_temp_path ${prefix};
${http}
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  const port = Number(/listen 127\.0\.0\.1:(\d+)/.exec(http)[1]);
  await waitForPort(port);
  // The master forks one worker: CPU is counted over both.
  const pids = () => [child.pid, ...childPids(child.pid)];
  // The shared cleanup SIGKILLs the master, which would orphan its worker; killing the worker first would make the
  // master fork a new one. So, however the bench ends (prepended: before that cleanup), note the workers, kill the
  // master, then them.
  process.prependListener('exit', () => {
    const workers = childPids(child.pid);
    for (const pid of [child.pid, ...workers]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return { pids };
}

function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** utime + stime of the processes, in clock ticks. */
function cpuTicks(pids) {
  let total = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the whole line)
  }
  return total;
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

function wrk(url, seconds) {
  const out = execFileSync('wrk', ['-t1', `-c${settings.connections}`, `-d${seconds}s`, '--latency', url], {
    encoding: 'utf8',
  });
  const unitMs = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const ms = (text) => {
    const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
    if (match === null) throw new Error(`bench: cannot read the latency ${text} from wrk:\n${out}`);
    return Number(match[1]) * unitMs[match[2]];
  };
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
    p50: ms(/^\s+50%\s+(\S+)/m.exec(out)[1]),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(out)[1]),
    errors,
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const isOpen = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (isOpen) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(50);
  }
}
