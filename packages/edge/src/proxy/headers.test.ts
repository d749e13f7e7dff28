import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, requestIdOf, upstreamRequestHeaders } from './headers.js';

const context = { clientAddress: '192.0.2.7', proto: 'https' as const, host: 'app.test', requestId: 'rid-1' };

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers, those named in Connection, and h2 pseudo-headers', () => {
    const out = upstreamRequestHeaders(
      {
        ':authority': 'app.test',
        connection: 'keep-alive, X-Secret',
        'keep-alive': 'timeout=5',
        'x-secret': 'hop',
        te: 'trailers',
        upgrade: 'h2c',
        expect: '100-continue',
        'proxy-authorization': 'Basic x',
        accept: 'text/html',
        cookie: 'a=1',
      },
      context,
    );
    expect(out).toEqual({
      accept: 'text/html',
      cookie: 'a=1',
      host: 'app.test',
      'x-forwarded-for': '192.0.2.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.test',
      'x-request-id': 'rid-1',
    });
  });

  it('appends to X-Forwarded-For and overrides the client-sent proto and host', () => {
    const out = upstreamRequestHeaders(
      {
        'x-forwarded-for': '10.0.0.1, 10.0.0.2',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'evil.test',
      },
      context,
    );
    expect(out['x-forwarded-for']).toBe('10.0.0.1, 10.0.0.2, 192.0.2.7');
    expect(out['x-forwarded-proto']).toBe('https');
    expect(out['x-forwarded-host']).toBe('app.test');
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop response headers and adds the request id', () => {
    const out = clientResponseHeaders(
      {
        connection: 'keep-alive, x-hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'x-hop': '1',
        'set-cookie': ['a=1', 'b=2'],
        'content-type': 'text/plain',
      },
      'rid-2',
    );
    expect(out).toEqual({
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 'text/plain',
      'x-request-id': 'rid-2',
    });
  });
});

describe('requestIdOf', () => {
  it('keeps a sane incoming id and replaces anything else', () => {
    expect(requestIdOf({ 'x-request-id': 'abc-123_x.y:z' })).toBe('abc-123_x.y:z');
    for (const bad of ['', 'has space', '<script>', 'x'.repeat(129)]) {
      expect(requestIdOf({ 'x-request-id': bad })).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(requestIdOf({})).toMatch(/^[0-9a-f-]{36}$/);
  });
});
