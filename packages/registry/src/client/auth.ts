import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { Credentials, Endpoint } from './config.js';
import { RegistryError } from './errors.js';
import { parseWwwAuthenticate } from './www-authenticate.js';

const DEFAULT_TOKEN_LIFETIME_S = 60;
// Renew a little early so a token does not expire between our check and the registry's.
const EXPIRY_MARGIN_MS = 5_000;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Holds what it takes to authorise requests to each endpoint: Bearer tokens cached per (registry, scope) until
 * they expire, and which registries asked for Basic. One instance is shared by all pulls of a client.
 */
export class Authorizer {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #basicHosts = new Set<string>();
  readonly #dispatcher: Dispatcher | undefined;

  constructor(dispatcher?: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  /** The Authorization header to send up front, if an earlier handshake left us one. */
  cached(endpoint: Endpoint, scope: string): string | undefined {
    const token = this.#tokens.get(tokenKey(endpoint, scope));
    if (token !== undefined && token.expiresAt > Date.now()) return `Bearer ${token.token}`;
    if (this.#basicHosts.has(endpoint.host) && endpoint.credentials !== undefined)
      return basic(endpoint.credentials);
    return undefined;
  }

  /** Answers a 401: fetches a token (Bearer) or uses the configured credentials (Basic). */
  async answer(
    endpoint: Endpoint,
    scope: string,
    wwwAuthenticate: string | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const challenges = parseWwwAuthenticate(wwwAuthenticate ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer !== undefined) {
      const token = await this.#fetchToken(endpoint, scope, bearer.params, signal);
      return `Bearer ${token}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (endpoint.credentials === undefined) {
        throw new RegistryError('UNAUTHORIZED', `${endpoint.host} requires a username and password`, {
          hint: `Set registries["${endpoint.host}"].username and .password in the configuration`,
        });
      }
      this.#basicHosts.add(endpoint.host);
      return basic(endpoint.credentials);
    }
    throw new RegistryError(
      'UNAUTHORIZED',
      `${endpoint.host} answered 401 without a Bearer or Basic challenge`,
    );
  }

  async #fetchToken(
    endpoint: Endpoint,
    scope: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const realm = params.realm;
    if (realm === undefined)
      throw new RegistryError('UNAUTHORIZED', `${endpoint.host} sent a Bearer challenge without a realm`);
    const url = new URL(realm);
    if (params.service !== undefined) url.searchParams.set('service', params.service);
    // The challenge names the scope the registry wants for this request; ours is the fallback.
    for (const s of (params.scope ?? scope).split(' ')) url.searchParams.append('scope', s);

    const headers: Record<string, string> = {};
    if (endpoint.credentials !== undefined) headers.authorization = basic(endpoint.credentials);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { method: 'GET', headers, signal, dispatcher: this.#dispatcher });
    } catch (error) {
      if (signal?.aborted === true) throw error;
      throw new RegistryError(
        'REGISTRY_UNAVAILABLE',
        `Cannot reach the token server of ${endpoint.host} at ${url.origin}`,
        {
          cause: error,
        },
      );
    }
    if (response.statusCode === 401 || response.statusCode === 403) {
      await response.body.dump();
      throw new RegistryError(
        'UNAUTHORIZED',
        `The token server of ${endpoint.host} refused the credentials`,
        {
          hint: `Check registries["${endpoint.host}"].username and .password`,
        },
      );
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new RegistryError(
        'REGISTRY_ERROR',
        `The token server of ${endpoint.host} answered ${response.statusCode}`,
      );
    }
    const body = (await response.body.json()) as {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
      issued_at?: unknown;
    };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new RegistryError('REGISTRY_ERROR', `The token server of ${endpoint.host} returned no token`);
    }
    const lifetimeS =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    const issuedAt = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : Number.NaN;
    // Trust our clock over issued_at when they disagree wildly (a skewed token server), but not beyond now.
    const start = Number.isFinite(issuedAt) ? Math.min(issuedAt, Date.now()) : Date.now();
    this.#tokens.set(tokenKey(endpoint, scope), {
      token,
      expiresAt: start + lifetimeS * 1000 - EXPIRY_MARGIN_MS,
    });
    return token;
  }
}

function tokenKey(endpoint: Endpoint, scope: string): string {
  return `${endpoint.origin} ${scope}`;
}

function basic(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}
