import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PaasError } from '@shellwego/core';

/**
 * AES-256-GCM envelope encryption. Each value gets its own data key (DEK); the DEK is encrypted
 * ("wrapped") under the master key (KEK). Rotating the master key rewraps DEKs, not data.
 * The additional authenticated data binds a ciphertext to its row, so a value copied onto another
 * app's secret fails to decrypt instead of leaking.
 */
export class Envelope {
  readonly #kek: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
    this.#kek = Buffer.from(masterKey);
  }

  encrypt(plaintext: string | Buffer, aad: string): string {
    const dek = randomBytes(32);
    const wrapped = seal(this.#kek, dek, Buffer.from('dek'));
    const body = seal(
      dek,
      Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8'),
      Buffer.from(aad),
    );
    dek.fill(0);
    return `v1.${wrapped.toString('base64url')}.${body.toString('base64url')}`;
  }

  decrypt(sealed: string, aad: string): Buffer {
    const [version, wrapped, body] = sealed.split('.');
    if (version !== 'v1' || wrapped === undefined || body === undefined) {
      throw new Error('unknown ciphertext format');
    }
    const dek = open(this.#kek, Buffer.from(wrapped, 'base64url'), Buffer.from('dek'));
    try {
      return open(dek, Buffer.from(body, 'base64url'), Buffer.from(aad));
    } finally {
      dek.fill(0);
    }
  }

  /** A value derived from the master key that proves, without revealing it, which key a store was sealed with. */
  keyCheck(): string {
    return createHmac('sha256', this.#kek).update('shellwego master key check v1').digest('hex');
  }

  matchesCheck(check: string): boolean {
    const mine = Buffer.from(this.keyCheck(), 'hex');
    const theirs = Buffer.from(check, 'hex');
    return mine.length === theirs.length && timingSafeEqual(mine, theirs);
  }
}

/** iv (12) ‖ ciphertext ‖ tag (16) */
function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ct, cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < 28) throw new Error('ciphertext too short');
  const iv = sealed.subarray(0, 12);
  const tag = sealed.subarray(sealed.length - 16);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

/** Parses SHELLWEGO_MASTER_KEY: 32 bytes as base64 or 64 hex digits. */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) {
    throw new PaasError(
      'VALIDATION_FAILED',
      'SHELLWEGO_MASTER_KEY must be 32 bytes, as base64 or 64 hex digits (generate one with: openssl rand -base64 32)',
    );
  }
  return key;
}
