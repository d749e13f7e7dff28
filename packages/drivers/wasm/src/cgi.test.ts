import { describe, expect, it } from 'vitest';
import { cgiEnv, parseCgiResponse } from './cgi.js';

const out = (s: string): Uint8Array => Buffer.from(s);

describe('parseCgiResponse', () => {
  it('is 200 with the headers and body when there is no Status', () => {
    const r = parseCgiResponse(out('Content-Type: text/plain\nX-A: 1\n\nbody\n'));
    expect(r).toMatchObject({
      status: 200,
      headers: [
        ['Content-Type', 'text/plain'],
        ['X-A', '1'],
      ],
    });
    expect(Buffer.from(r.body).toString()).toBe('body\n');
  });

  it('takes the status from Status, and a Location alone means 302', () => {
    expect(parseCgiResponse(out('Status: 404 Not Found\r\n\r\n'))).toMatchObject({
      status: 404,
      statusText: 'Not Found',
    });
    expect(parseCgiResponse(out('Location: /elsewhere\n\n')).status).toBe(302);
  });

  it('refuses output without a header block or with bad headers', () => {
    expect(() => parseCgiResponse(out('just a body'))).toThrow(/no CGI header block/);
    expect(() => parseCgiResponse(out('no colon here\n\n'))).toThrow(/malformed header line/);
    expect(() => parseCgiResponse(out('Status: banana\n\n'))).toThrow(/invalid Status/);
  });
});

describe('cgiEnv', () => {
  const req = {
    method: 'PUT',
    url: '/p/q?a=1',
    headers: { 'x-forwarded-for': '10.0.0.1', 'content-type': 'text/plain', 'content-length': '3' },
    bodyLength: 3,
    serverName: 'app.test',
    serverPort: 8080,
    remoteAddr: '127.0.0.1',
  };

  it('maps the request to CGI variables and headers to HTTP_*', () => {
    expect(cgiEnv(req, {})).toMatchObject({
      REQUEST_METHOD: 'PUT',
      PATH_INFO: '/p/q',
      QUERY_STRING: 'a=1',
      CONTENT_TYPE: 'text/plain',
      CONTENT_LENGTH: '3',
      SERVER_NAME: 'app.test',
      SERVER_PORT: '8080',
      HTTP_X_FORWARDED_FOR: '10.0.0.1',
    });
    expect(cgiEnv(req, {})).not.toHaveProperty('HTTP_CONTENT_TYPE');
  });

  it('keeps the app env, but the request variables win over it', () => {
    const env = cgiEnv(req, { APP: 'x', REQUEST_METHOD: 'spoofed' });
    expect(env).toMatchObject({ APP: 'x', REQUEST_METHOD: 'PUT' });
  });
});
