import cluster from 'node:cluster';
import type { ListenHandle } from './listen-socket.js';
import { isPrimaryMessage, type SocketName, type WorkerMessage } from './messages.js';

/** True in a worker forked by the edge's primary (startEdgePrimary). */
export function isEdgeWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Asks the primary for its sockets and resolves with them by name. Call once; the primary answers with one message
 * per socket, each carrying its handle.
 */
export function receiveSockets(timeoutMs = 30_000): Promise<Partial<Record<SocketName, ListenHandle>>> {
  return new Promise((resolve, reject) => {
    const sockets: Partial<Record<SocketName, ListenHandle>> = {};
    let received = 0;
    const onMessage = (message: unknown, handle: unknown): void => {
      if (!isPrimaryMessage(message) || handle === undefined || handle === null) return;
      // The primary sends Node's raw TCP handle (see listen-socket.ts); it arrives as that object.
      sockets[message.name] = handle as ListenHandle;
      if (++received < message.total) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(sockets);
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the edge's primary sent no sockets within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    process.on('message', onMessage);
    send({ swgEdge: 'sockets?' });
  });
}

/** Tells the primary this worker serves: it then drains the previous one. */
export function reportReady(ports: { httpPort: number; httpsPort?: number; metricsPort?: number }): void {
  send({
    swgEdge: 'ready',
    httpPort: ports.httpPort,
    httpsPort: ports.httpsPort ?? null,
    metricsPort: ports.metricsPort ?? null,
  });
}

/** After the drain: leaves the cluster (a planned exit for the primary); the process ends when nothing is left. */
export function leaveCluster(): void {
  cluster.worker?.disconnect();
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}
