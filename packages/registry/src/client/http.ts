import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { Authorizer } from './auth.js';
import type { Endpoint, RegistryConfig } from './config.js';
import { RegistryError } from './errors.js';
import type { RegistryErrorCode } from './errors.js';

const MAX_REDIRECTS = 5;

export type RegistryResponse = Dispatcher.ResponseData & { url: URL };

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/v2/…` on the endpoint, or an absolute URL the registry gave us (upload Location). */
  path: string;
  /** Token scope, e.g. `repository:app:pull`. */
  scope: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  signal?: AbortSignal | undefined;
  /** Follow 3xx (blob GETs: registries may send us to a CDN). */
  followRedirects?: boolean;
}

/**
 * The HTTP layer of the distribution API: authorisation handshake, manual redirects, and transport errors turned
 * into REGISTRY_UNAVAILABLE. One client (and its token cache) can serve many pulls.
 */
export class RegistryClient {
  readonly config: RegistryConfig;
  readonly #auth: Authorizer;
  readonly #dispatcher: Dispatcher | undefined;

  constructor(config: RegistryConfig = {}, options: { dispatcher?: Dispatcher } = {}) {
    this.config = config;
    this.#dispatcher = options.dispatcher;
    this.#auth = new Authorizer(options.dispatcher);
  }

  /** Sends the request, answering one 401 with the auth handshake. The caller owns (and must consume) the body. */
  async send(endpoint: Endpoint, req: RegistryRequest): Promise<RegistryResponse> {
    const url = new URL(req.path, endpoint.origin);
    let authorization = this.#auth.cached(endpoint, req.scope);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...req.headers };
      if (authorization !== undefined && url.origin === endpoint.origin)
        headers.authorization = authorization;
      const response = await this.#raw(endpoint, url, req, headers);
      if (response.statusCode === 401 && attempt === 0) {
        await response.body.dump();
        authorization = await this.#auth.answer(
          endpoint,
          req.scope,
          header(response, 'www-authenticate'),
          req.signal,
        );
        continue;
      }
      if (req.followRedirects === true && isRedirect(response.statusCode)) {
        return this.#follow(endpoint, req, url, response, authorization);
      }
      return { ...response, url };
    }
  }

  /**
   * Follows redirects by hand: Authorization goes only to the registry's own origin, never to the CDN or object
   * store a blob redirect points at (distribution-spec; a leaked token would be valid for the whole repository).
   */
  async #follow(
    endpoint: Endpoint,
    req: RegistryRequest,
    from: URL,
    first: Dispatcher.ResponseData,
    authorization: string | undefined,
  ): Promise<RegistryResponse> {
    let response = first;
    let url = from;
    for (let hops = 0; isRedirect(response.statusCode); hops++) {
      const location = header(response, 'location');
      await response.body.dump();
      if (location === undefined)
        throw new RegistryError('REGISTRY_ERROR', `${endpoint.host} redirected without a Location`);
      if (hops >= MAX_REDIRECTS)
        throw new RegistryError(
          'REGISTRY_ERROR',
          `Too many redirects from ${endpoint.host} for ${from.pathname}`,
        );
      url = new URL(location, url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new RegistryError(
          'REGISTRY_ERROR',
          `${endpoint.host} redirected to an unsupported URL scheme ${url.protocol}`,
        );
      }
      const headers: Record<string, string> = { ...req.headers };
      if (authorization !== undefined && url.origin === endpoint.origin)
        headers.authorization = authorization;
      response = await this.#raw(
        endpoint,
        url,
        { ...req, method: req.method === 'HEAD' ? 'HEAD' : 'GET' },
        headers,
      );
    }
    return { ...response, url };
  }

  async #raw(
    endpoint: Endpoint,
    url: URL,
    req: RegistryRequest,
    headers: Record<string, string>,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, {
        method: req.method,
        headers,
        body: req.body,
        signal: req.signal,
        dispatcher: this.#dispatcher,
      });
    } catch (error) {
      if (req.signal?.aborted === true) throw req.signal.reason;
      throw new RegistryError(
        'REGISTRY_UNAVAILABLE',
        `Cannot reach ${endpoint.host} (${url.origin}): ${messageOf(error)}`,
        {
          cause: error,
          hint: 'Check that the registry is up and reachable; retrying may help',
        },
      );
    }
  }
}

/** Turns an unexpected response into a RegistryError, using the registry's own error code when it sends one. */
export async function errorFromResponse(response: RegistryResponse, what: string): Promise<RegistryError> {
  let detail = '';
  let registryCode: string | undefined;
  try {
    const text = await response.body.text();
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    if (typeof first?.code === 'string') registryCode = first.code;
    if (typeof first?.message === 'string') detail = `: ${first.message}`;
  } catch {
    // Not a distribution error body; the status says enough.
  }
  const status = response.statusCode;
  const code = codeFor(status, registryCode);
  return new RegistryError(
    code,
    `${what}: registry answered ${status}${registryCode === undefined ? '' : ` ${registryCode}`}${detail}`,
    {
      ...(code === 'UNAUTHORIZED' || code === 'DENIED'
        ? {
            hint: 'Check the credentials configured for this registry and that they may pull this repository',
          }
        : {}),
    },
  );
}

function codeFor(status: number, registryCode: string | undefined): RegistryErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) {
    if (registryCode === 'BLOB_UNKNOWN') return 'BLOB_UNKNOWN';
    return 'MANIFEST_UNKNOWN';
  }
  if (status === 429 || status >= 500) return 'REGISTRY_UNAVAILABLE';
  return 'REGISTRY_ERROR';
}

export function header(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}
