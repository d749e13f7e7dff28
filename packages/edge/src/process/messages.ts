/** The sockets the primary hands to each worker, by name. */
export type SocketName = 'http' | 'https' | 'metrics';

/**
 * Messages between the edge's cluster primary and its worker, over cluster's IPC channel.
 *
 *   worker                      primary
 *     | --- sockets? ------------> |   (once its message listener is in place)
 *     | <-- socket {name} + handle |   (one message per socket: a message carries one handle)
 *     | --- ready {ports} -------> |   (listening, routes and certificates loaded)
 *
 * Draining is asked with SIGTERM, so it works the same whether the primary, an operator or a terminal sends it.
 */
export type WorkerMessage =
  | { swgEdge: 'sockets?' }
  | { swgEdge: 'ready'; httpPort: number; httpsPort: number | null; metricsPort: number | null };

/** One socket; `total` says how many the worker gets in all. */
export type PrimaryMessage = { swgEdge: 'socket'; name: SocketName; total: number };

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === 'object' && message !== null && 'swgEdge' in message;
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { swgEdge?: unknown }).swgEdge === 'socket' &&
    typeof (message as { name?: unknown }).name === 'string' &&
    typeof (message as { total?: unknown }).total === 'number'
  );
}
