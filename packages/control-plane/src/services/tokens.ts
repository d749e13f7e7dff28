import { createHash, randomBytes } from 'node:crypto';

/** Opaque tokens (API, refresh, invitation) are random; the store keeps only their SHA-256. */
export function newOpaqueToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export const API_TOKEN_PREFIX = 'swg_';
export const REFRESH_TOKEN_PREFIX = 'swgr_';
export const INVITATION_PREFIX = 'swgi_';
export const JOIN_TOKEN_PREFIX = 'swgj_';
export const NODE_CREDENTIAL_PREFIX = 'swgn_';
