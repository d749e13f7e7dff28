import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

export function algorithmOf(digest: string): 'sha256' | 'sha512' {
  if (!DIGEST.test(digest))
    throw new RegistryError('INVALID_MANIFEST', `"${digest}" is not a sha256 or sha512 digest`);
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function hexOf(digest: string): string {
  algorithmOf(digest);
  return digest.slice(digest.indexOf(':') + 1);
}

export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** A hasher for the algorithm of `expected`, so a sha512 descriptor is checked with sha512. */
export function hasherFor(expected: string): Hash {
  return createHash(algorithmOf(expected));
}

export function digestMismatch(what: string, expected: string, actual: string): RegistryError {
  return new RegistryError('DIGEST_MISMATCH', `${what} has digest ${actual}, expected ${expected}`, {
    hint: 'The registry served content that does not match its digest (corrupt storage or tampering); nothing was stored',
  });
}

export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  const actual = digestOf(bytes, algorithmOf(expected));
  if (actual !== expected) throw digestMismatch(what, expected, actual);
}
