const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A new id: `<prefix>_` + 10 chars of millisecond time + 16 random chars, so ids sort by creation.
 * Uses Web Crypto, present in Node 20 and browsers.
 */
export function newId(prefix: string): string {
  let time = Date.now();
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = alphabet[time % 32] + head;
    time = Math.floor(time / 32);
  }
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let tail = '';
  for (const b of bytes) tail += alphabet[b % 32];
  return `${prefix}_${head}${tail}`;
}

export const idPrefixes = {
  org: 'org',
  user: 'usr',
  app: 'app',
  secret: 'sec',
  domain: 'dom',
  volume: 'vol',
  node: 'node',
  token: 'tok',
  invitation: 'inv',
  refresh: 'rt',
  joinToken: 'jt',
  release: 'rel',
  deployment: 'dep',
  instance: 'ins',
} as const;

/** True when `value` looks like an id with `prefix` (so `{app}` can be a name or an id). */
export function isId(value: string, prefix: string): boolean {
  return value.startsWith(`${prefix}_`) && value.length === prefix.length + 27;
}
