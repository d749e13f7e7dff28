import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate } from './www-authenticate.js';

describe('parseWwwAuthenticate', () => {
  it('reads a Bearer challenge with a comma inside a quoted scope', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:a/b:pull,push',
        },
      },
    ]);
  });

  it('reads several challenges, unquoted values and escapes', () => {
    expect(
      parseWwwAuthenticate(
        'Basic realm="Registry \\"x\\"", Bearer realm=http://t/token, error=invalid_token',
      ),
    ).toEqual([
      { scheme: 'basic', params: { realm: 'Registry "x"' } },
      { scheme: 'bearer', params: { realm: 'http://t/token', error: 'invalid_token' } },
    ]);
  });
});
