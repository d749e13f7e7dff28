import { generateKeyPair, exportPKCS8, importPKCS8, SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { CryptoKey, KeyObject } from 'jose';
import { createPublicKey, createHash } from 'node:crypto';
import { PaasError } from '@shellwego/core';
import type { Deps } from './context.js';

const SETTING = 'jwt_signing_key';
const ISSUER = 'shellwego';
const AUDIENCE = 'shellwego-api';

export interface AccessClaims {
  userId: string;
}

/**
 * RS256 signing keys for access tokens. The private key lives in the store, sealed under the master
 * key, so every control plane behind a load balancer signs and verifies with the same key.
 */
export class AccessTokens {
  private constructor(
    private readonly privateKey: CryptoKey | KeyObject,
    private readonly publicKey: KeyObject,
    private readonly kid: string,
    private readonly ttlSeconds: number,
    private readonly now: () => Date,
  ) {}

  static async load(deps: Deps): Promise<AccessTokens> {
    const db = deps.store.db;
    let row = await db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst();
    if (!row) {
      const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
      const sealed = deps.envelope.encrypt(await exportPKCS8(privateKey), `settings:${SETTING}`);
      // Two servers starting at once: the first insert wins, both then read the winner.
      await db
        .insertInto('settings')
        .values({ key: SETTING, value: sealed })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      row = await db
        .selectFrom('settings')
        .select('value')
        .where('key', '=', SETTING)
        .executeTakeFirstOrThrow();
    }
    const pem = deps.envelope.decrypt(row.value, `settings:${SETTING}`).toString('utf8');
    const privateKey = await importPKCS8(pem, 'RS256');
    const publicKey = createPublicKey(pem);
    const kid = createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url')
      .slice(0, 16);
    return new AccessTokens(privateKey, publicKey, kid, deps.settings.accessTokenTtlSeconds, deps.now);
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }

  async issue(claims: AccessClaims): Promise<string> {
    const iat = Math.floor(this.now().getTime() / 1000);
    return new SignJWT({ typ: 'access' })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(this.privateKey);
  }

  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['RS256'],
        currentDate: this.now(),
      });
      if (payload.typ !== 'access' || typeof payload.sub !== 'string') throw new Error('not an access token');
      return { userId: payload.sub };
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) {
        throw new PaasError('TOKEN_EXPIRED', 'the access token has expired; refresh it or log in again');
      }
      throw new PaasError('UNAUTHENTICATED', 'the access token is invalid; log in again');
    }
  }
}
