import { WebSocket } from 'ws';
import { schemas, type EdgeRouteTable } from '@shellwego/core';
import type { Logger } from 'pino';
import type { EdgeServer } from '../server.js';
import type { CertificateStore } from '../tls/certificate-store.js';

export interface ControlPlaneLinkOptions {
  /** The control plane's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  /** A platform admin's API token (`swg_…`): the route table and the certificates are the operator's. */
  token: string;
  edge: Pick<EdgeServer, 'swap' | 'revision' | 'answerChallenges'>;
  certificates: Pick<CertificateStore, 'replace' | 'revision'>;
  logger: Logger;
  /** Reconnect backoff, doubling from `initialMs` to `maxMs`. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface ControlPlaneLink {
  /** Connected now, and the revision of the last table applied. */
  state(): { connected: boolean; revision: number; connects: number };
  close(): void;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The edge's side of the control plane: one WebSocket on `/v1/edge/routes` that delivers the whole route table on
 * connect and on every change. Certificates are fetched when the table says their set changed, and applied before
 * the table that may need them. While the control plane is away the edge keeps serving what it last had (the
 * table and the certificates are persisted by the server and the store); a reconnect resyncs everything.
 */
export function linkToControlPlane(opts: ControlPlaneLinkOptions): ControlPlaneLink {
  const backoff = opts.backoff ?? { initialMs: 500, maxMs: 15_000 };
  const wsUrl = new URL('/v1/edge/routes', opts.url);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  let closed = false;
  let connected = false;
  let connects = 0;
  let attempt = 0;
  let socket: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Tables are applied one at a time, in order; a newer one waiting replaces an older one waiting.
  let applying: Promise<void> = Promise.resolve();
  let pending: EdgeRouteTable | undefined;

  const fetchCertificates = async (revision: number): Promise<void> => {
    const res = await fetch(new URL('/v1/edge/certificates', opts.url), {
      headers: { authorization: `Bearer ${opts.token}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`GET /v1/edge/certificates answered ${res.status}`);
    const list = schemas.edgeCertificateList.parse(await res.json());
    await opts.certificates.replace(revision, list.items);
    opts.logger.info({ revision, certificates: list.items.length }, 'certificates updated');
  };

  const apply = async (): Promise<void> => {
    const table = pending;
    pending = undefined;
    if (table === undefined || table.revision <= opts.edge.revision) return;
    if (table.certificates_revision !== opts.certificates.revision) {
      // Routes still swap when the certificates cannot be fetched: plain HTTP and known names keep working.
      await fetchCertificates(table.certificates_revision).catch((e: unknown) =>
        opts.logger.warn({ err: errText(e) }, 'could not fetch the certificates; keeping the ones I have'),
      );
    }
    await opts.edge.swap(table);
    opts.logger.info({ revision: table.revision, routes: table.routes.length }, 'route table applied');
  };

  const connect = (): void => {
    const ws = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${opts.token}` },
      handshakeTimeout: 10_000,
    });
    socket = ws;
    ws.on('open', () => {
      attempt = 0;
      connects++;
      connected = true;
    });
    ws.on('message', (data: Buffer) => {
      const parsed = schemas.edgeRouteTable.safeParse(safeJson(data.toString('utf8')));
      if (!parsed.success) {
        opts.logger.warn('ignoring a malformed route table');
        return;
      }
      pending = parsed.data;
      // ACME challenges take effect at once: the CA validates as soon as the control plane asks it to, while this
      // table may still wait for a certificate fetch (seen: Pebble's requests answered 404 for that reason).
      opts.edge.answerChallenges(parsed.data);
      applying = applying.then(apply).catch((e: unknown) => {
        opts.logger.error({ err: errText(e) }, 'applying the route table failed');
      });
    });
    ws.on('unexpected-response', (_req, res) => {
      // 401/403: a wrong token will not fix itself, but the operator may replace it; keep trying, slowly.
      opts.logger.error({ status: res.statusCode }, 'the control plane refused the edge');
      ws.terminate();
    });
    ws.on('error', (e) => opts.logger.debug({ err: e.message }, 'route watch socket error'));
    ws.on('close', () => {
      connected = false;
      if (closed) return;
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt++) * (0.5 + Math.random() / 2);
      timer = setTimeout(connect, delay);
    });
  };
  connect();

  return {
    state: () => ({ connected, revision: opts.edge.revision, connects }),
    close: () => {
      closed = true;
      clearTimeout(timer);
      if (socket?.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket?.close(1000, 'edge stopping');
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
