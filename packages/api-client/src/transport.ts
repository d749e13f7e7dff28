import { ApiError, clientErrorCodes } from './errors.js';
import type { TokenPair } from './types.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ClientOptions {
  /** e.g. `https://paas.example.com`; a path prefix is kept, a trailing slash is not needed. */
  baseUrl: string;
  /** Access token (JWT) or `swg_` API token. */
  token?: string | undefined;
  /** With it, a 401 triggers one refresh and one retry. */
  refreshToken?: string | undefined;
  /** Called with every new pair (login, signup, refresh) so the caller can persist it. */
  onTokens?: ((pair: TokenPair) => void | Promise<void>) | undefined;
  /** Defaults to the global fetch (Node 20 or a browser). */
  fetch?: typeof fetch | undefined;
  /** Per request; default 60 s. */
  timeoutMs?: number | undefined;
}

export interface Call {
  method: HttpMethod;
  /** A literal path, or one built by `path` from arguments. */
  path: string | (() => string);
  query?: Record<string, string | number | undefined> | undefined;
  body?: unknown;
  /** Public routes (login, refresh, signup, health) send no credentials and never refresh. */
  auth: boolean;
}

/** A call with its path built. */
type Resolved = Omit<Call, 'path'> & { path: string };

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Encodes every interpolated value as one path segment: path`/v1/apps/${name}`. Checked when the call is
 * sent, so a bad argument rejects the returned promise like any other error instead of throwing.
 */
export function path(strings: TemplateStringsArray, ...params: string[]): () => string {
  return () => {
    let out = strings[0] ?? '';
    params.forEach((param, i) => {
      // URL parsing resolves `.` and `..` segments (even percent-encoded), and an empty segment would
      // turn "get app X" into "list apps": refuse rather than call a different route.
      if (param === '' || /^(\.|%2e){1,2}$/i.test(param)) {
        throw new ApiError({
          status: 0,
          code: clientErrorCodes.VALIDATION_FAILED,
          message: `"${param}" is not a valid name or id`,
        });
      }
      out += encodeURIComponent(param) + (strings[i + 1] ?? '');
    });
    return out;
  };
}

/** Holds the credentials and performs calls: JSON in and out, errors as ApiError, refresh on 401. */
export class Transport {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private token: string | undefined;
  private refreshToken: string | undefined;
  private readonly onTokens: ClientOptions['onTokens'];
  /** Refresh tokens rotate and a reused one revokes the session, so concurrent 401s share one refresh. */
  private refreshing: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    // Bound, because some browsers throw "Illegal invocation" when fetch is called on another object.
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.token = options.token;
    this.refreshToken = options.refreshToken;
    this.onTokens = options.onTokens;
  }

  credentials(): { token: string | undefined; refreshToken: string | undefined } {
    return { token: this.token, refreshToken: this.refreshToken };
  }

  /** Uses `pair` from now on and hands it to onTokens. */
  async adopt(pair: TokenPair): Promise<void> {
    this.token = pair.access_token;
    this.refreshToken = pair.refresh_token;
    await this.onTokens?.(pair);
  }

  async send<T>(unresolved: Call): Promise<T> {
    const call: Resolved = {
      ...unresolved,
      path: typeof unresolved.path === 'function' ? unresolved.path() : unresolved.path,
    };
    const used = this.token;
    let res = await this.exchange(call, used);
    if (res.status === 401 && call.auth && this.refreshToken !== undefined) {
      // Another call may already have refreshed while this one was in flight.
      if (this.token === used) await this.refresh();
      res = await this.exchange(call, this.token);
    }
    return this.decode<T>(call, res);
  }

  /** Exchanges the configured refresh token for a new pair (shared by concurrent callers). */
  async refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const call: Resolved = {
      method: 'POST',
      path: '/v1/auth/refresh',
      body: { refresh_token: this.refreshToken },
      auth: false,
    };
    let pair: TokenPair;
    try {
      pair = await this.decode<TokenPair>(call, await this.exchange(call, undefined));
    } catch (e) {
      // A refresh token that failed once (expired, already used) never works again: stop trying.
      if (e instanceof ApiError && e.status === 401) this.refreshToken = undefined;
      throw e;
    }
    await this.adopt(pair);
  }

  private async exchange(call: Resolved, token: string | undefined): Promise<Response> {
    const url = this.urlOf(call);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.auth && token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    try {
      return await this.fetchImpl(url, {
        method: call.method,
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      if (e instanceof Error && e.name === 'TimeoutError') {
        throw new ApiError({
          status: 0,
          code: clientErrorCodes.TIMEOUT,
          message: `no answer from ${this.baseUrl} within ${Math.round(this.timeoutMs / 1000)} s`,
          cause: e,
        });
      }
      throw new ApiError({
        status: 0,
        code: clientErrorCodes.UNREACHABLE,
        message: `cannot reach ${this.baseUrl}: ${networkReason(e)}`,
        hint: 'check the URL and that the control plane is running',
        cause: e,
      });
    }
  }

  private urlOf(call: Resolved): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.baseUrl}${call.path}${qs === '' ? '' : `?${qs}`}`;
  }

  private async decode<T>(call: Resolved, res: Response): Promise<T> {
    const text = await res.text();
    let json: unknown;
    let parsed = text !== '';
    if (parsed) {
      try {
        json = JSON.parse(text);
      } catch {
        parsed = false;
      }
    }
    if (res.ok) {
      if (res.status === 204 || text === '') return undefined as T;
      if (parsed) return json as T;
      throw badResponse(call, res, 'a body that is not JSON');
    }
    const error = parsed ? errorOf(json) : null;
    if (!error) throw badResponse(call, res, `status ${res.status} ${res.statusText}`.trim());
    const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
    throw new ApiError({
      status: res.status,
      code: error.code,
      message: error.message,
      field: error.field,
      hint: error.hint,
      retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined,
    });
  }
}

function errorOf(json: unknown): { code: string; message: string; field?: string; hint?: string } | null {
  if (typeof json !== 'object' || json === null || !('error' in json)) return null;
  const e = json.error as Record<string, unknown> | null;
  if (typeof e !== 'object' || e === null || typeof e.code !== 'string') return null;
  return {
    code: e.code,
    message: typeof e.message === 'string' ? e.message : e.code,
    ...(typeof e.field === 'string' ? { field: e.field } : {}),
    ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
  };
}

function badResponse(call: Resolved, res: Response, what: string): ApiError {
  return new ApiError({
    status: res.status,
    code: clientErrorCodes.BAD_RESPONSE,
    message: `${call.method} ${call.path} answered with ${what}; is this a ShellWeGo API?`,
  });
}

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause. */
function networkReason(e: unknown): string {
  const cause =
    e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
  };
  if (code !== undefined && known[code]) return known[code];
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  return e instanceof Error ? e.message : String(e);
}
