/**
 * What went wrong reaching an upstream, and so whether the request may be sent to another one:
 * - `connect`: no connection was made (refused, connect timeout, unreachable): the app never saw it; always retry.
 * - `closed`: our pool for that upstream was closed by a route swap before sending; retry, and no health mark.
 * - `reset`: the connection broke before a response; the app may have seen the request.
 * - `timeout`: no response headers in time (504); the app has the request, never retried.
 * - `other`: anything else (502).
 */
export type UpstreamErrorKind = 'connect' | 'closed' | 'reset' | 'timeout' | 'other';

const connectCodes = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);
const closedCodes = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

// Errors arrive as unknown (undici's, node's); read `code`, else the `cause`'s, without trusting their shape.
function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== 'UND_ERR') return code;
  return codeOf((error as { cause?: unknown }).cause);
}

export function classifyUpstreamError(error: unknown): UpstreamErrorKind {
  const code = codeOf(error);
  if (code === undefined) return 'other';
  if (connectCodes.has(code)) return 'connect';
  if (closedCodes.has(code)) return 'closed';
  if (resetCodes.has(code)) return 'reset';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
  return 'other';
}

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Whether sending again cannot make the app act twice on a request it may already have received. */
export function canRetry(kind: UpstreamErrorKind, method: string, hasBodyStarted: boolean): boolean {
  if (kind === 'connect' || kind === 'closed') return true;
  if (kind === 'reset') return idempotent.has(method) && !hasBodyStarted;
  return false;
}

/** Errors that say the upstream itself is unwell, so the balancer should skip it for a while. */
export function marksUpstreamDown(kind: UpstreamErrorKind): boolean {
  return kind === 'connect' || kind === 'reset';
}
