import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones undici refuses to forward; `expect` is answered by Node itself.
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

// The edge sets these itself; a client's values are never trusted as-is.
const setByEdge = new Set(['x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'x-forwarded-for']);

const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The incoming request id when it is a plain token of sane length, else a new one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && validRequestId.test(incoming) ? incoming : randomUUID();
}

/** Names listed in `Connection` are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> | undefined {
  const value = headers.connection;
  if (value === undefined) return undefined;
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()));
}

export interface ForwardContext {
  clientAddress: string;
  proto: 'http' | 'https';
  host: string;
  requestId: string;
}

/**
 * The headers sent upstream: hop-by-hop and h2 pseudo-headers removed, `Host` kept as the client sent it (apps
 * route on it), `X-Forwarded-For` appended to, `X-Forwarded-Proto/-Host` and `X-Request-Id` set by the edge.
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  context: ForwardContext,
): Record<string, string | string[]> {
  const extra = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */ || hopByHop.has(name) || setByEdge.has(name)) continue;
    if (extra?.has(name) === true) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  out.host = context.host;
  const prior = headers['x-forwarded-for'];
  const priorText = Array.isArray(prior) ? prior.join(', ') : prior;
  out['x-forwarded-for'] =
    priorText === undefined || priorText === ''
      ? context.clientAddress
      : `${priorText}, ${context.clientAddress}`;
  out['x-forwarded-proto'] = context.proto;
  out['x-forwarded-host'] = context.host;
  out['x-request-id'] = context.requestId;
  return out;
}

/** The upstream's response headers minus hop-by-hop ones (HTTP/2 forbids them outright). */
export function clientResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  requestId: string,
): Record<string, string | string[]> {
  const connection = headers.connection;
  const extra =
    typeof connection === 'string'
      ? new Set(connection.split(',').map((token) => token.trim().toLowerCase()))
      : undefined;
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (hopByHop.has(name) || extra?.has(name) === true) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  out['x-request-id'] = requestId;
  return out;
}
