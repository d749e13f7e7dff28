/** Stable codes a driver failure carries; the reconciler decides on `retryable` whether to back off and retry. */
export const driverErrorCodes = {
  DRIVER_UNAVAILABLE: { retryable: false },
  INVALID_SPEC: { retryable: false },
  INVALID_HANDLE: { retryable: false },
  INSTANCE_NOT_FOUND: { retryable: false },
  START_FAILED: { retryable: true },
  STOP_FAILED: { retryable: true },
  RUNTIME_FAILED: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

export type DriverErrorCode = keyof typeof driverErrorCodes;

/** An expected driver failure with a code and a sentence saying what went wrong and what to check. */
export class DriverError extends Error {
  readonly code: DriverErrorCode;
  readonly driver: string;

  constructor(driver: string, code: DriverErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(`${driver}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DriverError';
    this.code = code;
    this.driver = driver;
  }

  get retryable(): boolean {
    return driverErrorCodes[this.code].retryable;
  }
}

export function isDriverError(e: unknown): e is DriverError {
  return e instanceof DriverError;
}
