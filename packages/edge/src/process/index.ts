// The edge as a reloadable process (`shellwego edge`): a cluster primary that owns the listening sockets and runs
// the edge in a worker it replaces on reload or crash, and the worker's side of that protocol. Only Node built-ins:
// the primary never loads the proxy.
export { startEdgePrimary } from './edge-primary.js';
export type { EdgePrimary, EdgePrimaryOptions, WorkerReady } from './edge-primary.js';
export { isEdgeWorker, receiveSockets, reportReady, leaveCluster } from './edge-worker.js';
export { bindListenSocket, ListenError } from './listen-socket.js';
export type { ListenHandle } from './listen-socket.js';
export type { SocketName } from './messages.js';
