/**
 * Errors of the registry client and the content store. Each has a stable code; `retryable` says whether trying
 * the same pull again can help (a dead registry can come back, a tampered blob will not fix itself).
 *
 * These codes are not (yet) in core's catalogue, so this is its own class rather than a PaasError.
 */
export const registryErrorCodes = {
  INVALID_REFERENCE: { status: 400, retryable: false },
  UNAUTHORIZED: { status: 401, retryable: false },
  DENIED: { status: 403, retryable: false },
  MANIFEST_UNKNOWN: { status: 404, retryable: false },
  BLOB_UNKNOWN: { status: 404, retryable: false },
  REF_NOT_FOUND: { status: 404, retryable: false },
  PLATFORM_NOT_FOUND: { status: 404, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  INVALID_MANIFEST: { status: 422, retryable: false },
  DIGEST_MISMATCH: { status: 422, retryable: false },
  REGISTRY_ERROR: { status: 502, retryable: false },
  REGISTRY_UNAVAILABLE: { status: 503, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type RegistryErrorCode = keyof typeof registryErrorCodes;

export interface RegistryErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly hint: string | undefined;

  constructor(code: RegistryErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.hint = options.hint;
  }

  get status(): number {
    return registryErrorCodes[this.code].status;
  }

  get retryable(): boolean {
    return registryErrorCodes[this.code].retryable;
  }
}

export function isRegistryError(error: unknown, code?: RegistryErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}
