/**
 * Codes the client raises itself, when there is no error body from a server to read one from.
 * Every other code comes from the server's catalogue (`errorCatalogue` in @shellwego/core).
 */
export const clientErrorCodes = {
  /** No HTTP answer at all: connection refused, unknown host, TLS failure. */
  UNREACHABLE: 'UNREACHABLE',
  /** The server took longer than `timeoutMs`. */
  TIMEOUT: 'TIMEOUT',
  /** An answer that is not the API's JSON (a proxy's HTML page, a truncated body). */
  BAD_RESPONSE: 'BAD_RESPONSE',
  /** An argument the client refuses to put in a URL (empty, `.` or `..`). */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
} as const;

export interface ApiErrorInit {
  /** HTTP status; 0 when no response arrived. */
  status: number;
  code: string;
  message: string;
  field?: string | undefined;
  hint?: string | undefined;
  /** Seconds from a 429's Retry-After header. */
  retryAfter?: number | undefined;
  cause?: unknown;
}

/** A failed API call, carrying the server's `{error: {code, message, field?, hint?}}` as properties. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly hint: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(init: ApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
    this.hint = init.hint;
    this.retryAfter = init.retryAfter;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
