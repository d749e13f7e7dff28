/**
 * The error catalogue: every error the API, the CLI and the dashboard can show.
 * A code is stable and SCREAMING_SNAKE; the message says what to do.
 */
export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, retryable: false },
  INVALID_JSON: { status: 400, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  UNAUTHENTICATED: { status: 401, retryable: false },
  TOKEN_EXPIRED: { status: 401, retryable: false },
  INVALID_CREDENTIALS: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  SIGNUP_CLOSED: { status: 403, retryable: false },
  INVITATION_INVALID: { status: 403, retryable: false },
  JOIN_TOKEN_INVALID: { status: 401, retryable: false },
  JOIN_TOKEN_NOT_FOUND: { status: 404, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  ROUTE_NOT_FOUND: { status: 404, retryable: false },
  ORG_NOT_FOUND: { status: 404, retryable: false },
  USER_NOT_FOUND: { status: 404, retryable: false },
  APP_NOT_FOUND: { status: 404, retryable: false },
  SECRET_NOT_FOUND: { status: 404, retryable: false },
  DOMAIN_NOT_FOUND: { status: 404, retryable: false },
  VOLUME_NOT_FOUND: { status: 404, retryable: false },
  NODE_NOT_FOUND: { status: 404, retryable: false },
  DEPLOYMENT_NOT_FOUND: { status: 404, retryable: false },
  RELEASE_NOT_FOUND: { status: 404, retryable: false },
  ARTIFACT_NOT_FOUND: { status: 404, retryable: false },
  TOKEN_NOT_FOUND: { status: 404, retryable: false },
  MEMBER_NOT_FOUND: { status: 404, retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  ALREADY_EXISTS: { status: 409, retryable: false },
  CONFLICT: { status: 409, retryable: true },
  LAST_OWNER: { status: 409, retryable: false },
  NOTHING_TO_DEPLOY: { status: 409, retryable: false },
  DEPLOYMENT_FINISHED: { status: 409, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  INTERNAL: { status: 500, retryable: true },
  UNAVAILABLE: { status: 503, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface PaasErrorOptions {
  field?: string;
  hint?: string;
  cause?: unknown;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
}

/** An expected failure the caller can act on. Anything else is a bug and becomes INTERNAL. */
export class PaasError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly hint: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, opts: PaasErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PaasError';
    this.code = code;
    this.field = opts.field;
    this.hint = opts.hint;
    this.headers = opts.headers;
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  get retryable(): boolean {
    return errorCatalogue[this.code].retryable;
  }

  toJSON(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
        ...(this.hint === undefined ? {} : { hint: this.hint }),
      },
    };
  }
}

export function isPaasError(e: unknown): e is PaasError {
  return e instanceof PaasError;
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; hint?: string };
}

export function notFound(code: ErrorCode, what: string): PaasError {
  return new PaasError(code, `${what} not found`);
}
