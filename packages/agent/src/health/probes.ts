import { request } from 'node:http';
import { connect } from 'node:net';

/** One check's outcome; `detail` says why it failed, for the instance status the agent reports. */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** Something that can tell, once, whether `host` answers; one implementation per kind of check. */
export interface Probe {
  run(host: string, timeoutMs: number): Promise<ProbeResult>;
}

/** GET `path`; 2xx and 3xx are healthy (a redirect to a login page still means the app is up). */
export function httpProbe(port: number, path: string): Probe {
  return {
    run: (host, timeoutMs) =>
      new Promise((resolve) => {
        // agent: false: a fresh connection per check, so a wedged keep-alive socket can't hide a dead app.
        const req = request({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 400;
          resolve({ ok, detail: `GET ${path} answered ${status}` });
        });
        req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on('error', (e) => resolve({ ok: false, detail: `GET ${path} failed: ${e.message}` }));
        req.end();
      }),
  };
}

/** A TCP connect; healthy once the port accepts. */
export function tcpProbe(port: number): Probe {
  return {
    run: (host, timeoutMs) =>
      new Promise((resolve) => {
        const socket = connect({ host, port });
        const done = (r: ProbeResult): void => {
          socket.destroy();
          resolve(r);
        };
        socket.setTimeout(timeoutMs, () =>
          done({ ok: false, detail: `no connection within ${timeoutMs} ms` }),
        );
        socket.once('connect', () => done({ ok: true, detail: `port ${port} accepts connections` }));
        socket.once('error', (e) =>
          done({ ok: false, detail: `connect to port ${port} failed: ${e.message}` }),
        );
      }),
  };
}
