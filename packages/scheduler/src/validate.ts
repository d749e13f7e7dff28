import type { PlacementRequest } from './types.js';

/**
 * Why a request cannot be planned at all, or undefined when it is well formed. Bad numbers would
 * otherwise slip through the fit checks (every comparison with NaN is false) and place anywhere.
 */
export function invalidRequestReason(request: PlacementRequest): string | undefined {
  if (!Number.isInteger(request.count) || request.count < 0) {
    return `invalid request: count must be a whole number of 0 or more (got ${request.count})`;
  }
  for (const field of ['memoryBytes', 'cpuMilli', 'diskBytes'] as const) {
    const value = request[field];
    if (!Number.isFinite(value) || value < 0) {
      return `invalid request: ${field} must be a finite number of 0 or more (got ${value})`;
    }
  }
  return undefined;
}
