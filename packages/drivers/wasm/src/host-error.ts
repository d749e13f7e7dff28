import type { ErrorBody } from './protocol.js';

/** An expected failure of a host operation; the host answers it as an ErrorBody and the driver rethrows it. */
export class HostOpError extends Error {
  constructor(
    readonly code: ErrorBody['code'],
    message: string,
  ) {
    super(message);
    this.name = 'HostOpError';
  }
}
