import type { IncomingHttpHeaders } from 'node:http';

/** What the module sees of one HTTP request, in the WAGI/CGI style (RFC 3875 names). */
export interface CgiRequest {
  method: string;
  /** The request target as sent: path plus optional `?query`. */
  url: string;
  headers: IncomingHttpHeaders;
  bodyLength: number;
  serverName: string;
  serverPort: number;
  remoteAddr: string;
}

export interface CgiResponse {
  status: number;
  statusText: string | undefined;
  headers: [string, string][];
  body: Uint8Array;
}

/**
 * CGI meta-variables for one request. Content-Type and Content-Length go to CONTENT_TYPE and CONTENT_LENGTH, every
 * other header to HTTP_<NAME>; the app's own environment comes first and the request's variables win, so a client
 * can set only HTTP_* names and never shadow the app's settings with its headers.
 */
export function cgiEnv(req: CgiRequest, appEnv: Record<string, string>): Record<string, string> {
  const q = req.url.indexOf('?');
  const env: Record<string, string> = {
    ...appEnv,
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'shellwego-wasm',
    REQUEST_METHOD: req.method,
    SCRIPT_NAME: '',
    PATH_INFO: q === -1 ? req.url : req.url.slice(0, q),
    QUERY_STRING: q === -1 ? '' : req.url.slice(q + 1),
    SERVER_NAME: req.serverName,
    SERVER_PORT: String(req.serverPort),
    REMOTE_ADDR: req.remoteAddr,
    CONTENT_LENGTH: String(req.bodyLength),
    CONTENT_TYPE: headerValue(req.headers['content-type']),
  };
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'content-type' || name === 'content-length' || value === undefined) continue;
    env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = headerValue(value);
  }
  return env;
}

function headerValue(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Where the header block ends: the first empty line, "\n\n" or "\r\n\r\n". */
function headerEnd(out: Uint8Array): { end: number; bodyStart: number } | null {
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== 0x0a) continue;
    if (out[i + 1] === 0x0a) return { end: i, bodyStart: i + 2 };
    if (out[i + 1] === 0x0d && out[i + 2] === 0x0a) return { end: i, bodyStart: i + 3 };
  }
  return null;
}

/** An invalid response from a module: answered 500, with this message in the instance's log. */
export class CgiResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CgiResponseError';
  }
}

/**
 * Parses what the module wrote to stdout: CGI header lines, a blank line, the body. `Status: 404 Not Found` sets the
 * status; a `Location` without a status is a redirect (302); otherwise 200.
 */
export function parseCgiResponse(out: Uint8Array): CgiResponse {
  const split = headerEnd(out);
  if (split === null)
    throw new CgiResponseError('module wrote no CGI header block (headers, blank line, body)');
  const text = Buffer.from(out.buffer, out.byteOffset, split.end).toString('latin1');
  const headers: [string, string][] = [];
  let status: number | undefined;
  let statusText: string | undefined;
  let hasLocation = false;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new CgiResponseError(
        `module wrote a malformed header line: ${JSON.stringify(line.slice(0, 80))}`,
      );
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new CgiResponseError(`module wrote an invalid header name: ${JSON.stringify(name.slice(0, 80))}`);
    if (/[\0\r\n]/.test(value))
      throw new CgiResponseError(`module wrote an invalid value for header ${name}`);
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const m = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      const code = m === null ? NaN : Number(m[1]);
      if (!(code >= 100 && code <= 599))
        throw new CgiResponseError(`module wrote an invalid Status: ${JSON.stringify(value)}`);
      status = code;
      statusText = m?.[2] || undefined;
      continue;
    }
    if (lower === 'location') hasLocation = true;
    headers.push([name, value]);
  }
  return {
    status: status ?? (hasLocation ? 302 : 200),
    statusText,
    headers,
    body: out.subarray(split.bodyStart),
  };
}
