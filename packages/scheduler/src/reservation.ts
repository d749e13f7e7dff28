import type { Resources } from './types.js';

/** What an idle deployed wasm function holds on its node (its compiled module and listener, ~40 KiB), rounded up. */
export const WASM_RESERVED_MEMORY_BYTES = 1024 * 1024;

/**
 * What an instance of `runtime` holds on its node, for placement. Containers and microVMs hold their limits. A wasm
 * function runs only while it answers, in the node's shared pool of worker threads (whose size bounds the CPU and
 * memory all functions use at once), so reserving its limits per deployed function would cap a node at a few
 * hundred functions where the runtime holds thousands: it holds a small fixed amount instead, and its limits apply
 * to each request.
 */
export function reservationOf(runtime: string, limits: Resources): Resources {
  if (runtime !== 'wasm') return limits;
  return { memoryBytes: Math.min(limits.memoryBytes, WASM_RESERVED_MEMORY_BYTES), cpuMilli: 0, diskBytes: 0 };
}
