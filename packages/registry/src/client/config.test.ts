import { describe, expect, it } from 'vitest';
import { endpointsFor, isLoopbackHost, schemeFor } from './config.js';

describe('endpointsFor', () => {
  it('uses plain HTTP only for loopback or insecure registries', () => {
    expect(schemeFor({}, '127.0.0.1:5000')).toBe('http');
    expect(schemeFor({}, 'localhost:5000')).toBe('http');
    expect(schemeFor({}, '[::1]:5000')).toBe('http');
    expect(schemeFor({}, 'registry.internal:5000')).toBe('https');
    expect(
      schemeFor({ registries: { 'registry.internal:5000': { insecure: true } } }, 'registry.internal:5000'),
    ).toBe('http');
    expect(isLoopbackHost('127.0.0.2')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });

  it('puts mirrors first with their own credentials, and sends Docker Hub to registry-1.docker.io', () => {
    const endpoints = endpointsFor(
      {
        registries: {
          'docker.io': {
            username: 'hub',
            password: 'p',
            mirrors: ['https://mirror.example/', 'localhost:5001'],
          },
          'mirror.example': { username: 'm', password: 'q' },
        },
      },
      'docker.io',
    );
    expect(endpoints.map((e) => [e.origin, e.mirror, e.credentials?.username])).toEqual([
      ['https://mirror.example', true, 'm'],
      ['http://localhost:5001', true, undefined],
      ['https://registry-1.docker.io', false, 'hub'],
    ]);
  });
});
