import { describe, expect, it } from 'vitest';
import { formatReference, parseReference, registryEndpointHost } from './reference.js';

const HEX = 'a'.repeat(64);

describe('parseReference', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['ghcr.io/org/app:v1', 'ghcr.io/org/app:v1'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b:1.0', '127.0.0.1:5000/a/b:1.0'],
    [`host:5000/a/b@sha256:${HEX}`, `host:5000/a/b@sha256:${HEX}`],
    [`nginx:1.27@sha256:${HEX}`, `docker.io/library/nginx:1.27@sha256:${HEX}`],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
    ['org/a.b-c__d', 'docker.io/org/a.b-c__d:latest'],
  ])('%s → %s', (input, canonical) => {
    expect(formatReference(parseReference(input))).toBe(canonical);
  });

  it('splits registry, repository, tag and digest', () => {
    expect(parseReference(`host:5000/a/b:t@sha256:${HEX}`)).toEqual({
      registry: 'host:5000',
      repository: 'a/b',
      tag: 't',
      digest: `sha256:${HEX}`,
    });
    // A digest-only reference gets no default tag.
    expect(parseReference(`app@sha256:${HEX}`).tag).toBeUndefined();
  });

  it('treats a first component without "." or ":" as a Docker Hub namespace', () => {
    expect(parseReference('myorg/app')).toMatchObject({ registry: 'docker.io', repository: 'myorg/app' });
  });

  it.each([
    ['', /empty/],
    ['Nginx', /must be lowercase/],
    ['nginx:', /tag ""/],
    ['nginx:-bad', /tag "-bad"/],
    ['nginx@sha256:abc', /64 lowercase hex/],
    ['nginx@md5:abc', /algorithm "md5"/],
    ['a//b', /empty path component/],
    ['a/b/', /empty path component/],
    ['host:99999/app', /port "99999"/],
    ['host:5000/', /empty path component|missing/],
    ['app_/x', /path component "app_"/],
    [' nginx', /whitespace/],
  ])('rejects %j with a reason', (input, reason) => {
    expect(() => parseReference(input)).toThrow(reason);
    try {
      parseReference(input);
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_REFERENCE' });
    }
  });
});

describe('registryEndpointHost', () => {
  it('sends Docker Hub requests to registry-1.docker.io', () => {
    expect(registryEndpointHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryEndpointHost('ghcr.io')).toBe('ghcr.io');
  });
});
