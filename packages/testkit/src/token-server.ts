import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * An in-process token server for Distribution's token auth (TESTING.md §2 "Token auth"): ES256 JWTs with the
 * libtrust `kid` of the signing certificate, `aud` a string equal to the service, `iss`, `exp` and `access`.
 */
export interface TokenServer {
  /** `http://127.0.0.1:<port>/token`: the realm to configure in the registry. */
  realm: string;
  service: string;
  issuer: string;
  /** Every token request received, for assertions (e.g. that credentials arrived). */
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export interface TokenRequest {
  scopes: string[];
  service: string | undefined;
  /** The Basic user name, when the client sent credentials. */
  username: string | undefined;
}

export interface StartTokenServerOptions {
  /** PEM private key (P-256) and its self-signed certificate, the registry's rootcertbundle. */
  keyPem: string;
  certPem: string;
  service?: string;
  issuer?: string;
  /** When set, requests must carry these Basic credentials; others get 401. */
  credentials?: { username: string; password: string };
  /** Seconds a token lives. */
  expiresIn?: number;
}

export async function startTokenServer(options: StartTokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(options.keyPem);
  const kid = libtrustKeyId(options.certPem);
  const service = options.service ?? 'testkit-registry';
  const issuer = options.issuer ?? 'testkit-issuer';
  const expiresIn = options.expiresIn ?? 300;
  const requests: TokenRequest[] = [];

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    }
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const user = basicUser(req.headers.authorization);
    const scopes = url.searchParams.getAll('scope');
    requests.push({
      scopes,
      service: url.searchParams.get('service') ?? undefined,
      username: user?.username,
    });
    if (options.credentials !== undefined) {
      const ok =
        user?.username === options.credentials.username && user.password === options.credentials.password;
      if (!ok) {
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': 'Basic realm="testkit-token"',
        });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
    }
    const now = Math.floor(Date.now() / 1000);
    // Grants everything asked for: the tests check the client's handshake, not an authorisation policy.
    const access = scopes.flatMap(parseScope);
    const token = signJwt(key, kid, {
      iss: issuer,
      aud: service,
      sub: user?.username ?? '',
      iat: now,
      nbf: now - 10,
      exp: now + expiresIn,
      access,
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date(now * 1000).toISOString(),
      }),
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('token server: no TCP address');
  let stopping: Promise<void> | undefined;
  return {
    realm: `http://127.0.0.1:${address.port}/token`,
    service,
    issuer,
    requests,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return stopping;
    },
  };
}

/** `repository:a/b:pull,push` → access entry. Names may contain ":" (registry:catalog:*), actions never do. */
function parseScope(scope: string): { type: string; name: string; actions: string[] }[] {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first === -1 || last === first) return [];
  return [
    {
      type: scope.slice(0, first),
      name: scope.slice(first + 1, last),
      actions: scope.slice(last + 1).split(','),
    },
  ];
}

function basicUser(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function signJwt(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ typ: 'JWT', alg: 'ES256', kid })}.${encode(claims)}`;
  // JWS wants raw r||s (64 bytes); Node's default DER encoding is rejected by Distribution.
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** libtrust key ID: SHA-256 of the SPKI DER, first 30 bytes, base32 unpadded, 12 groups of 4 joined by ":". */
export function libtrustKeyId(certPem: string): string {
  const der = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return (encoded.match(/.{4}/g) ?? []).join(':');
}

function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
