import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';

/**
 * A bound TCP socket as Node's own `TCP` handle: what the cluster primary keeps for the edge's lifetime and hands
 * to each worker, which passes it to `server.listen(handle)`. Opaque outside this module.
 */
export interface ListenHandle {
  close(callback?: () => void): void;
}

/** The internal `net` export that cluster's own primary uses to bind its shared handles (lib/net.js). */
interface NetInternals {
  _createServerHandle(address: string, port: number, addressType: 4 | 6): ListenHandle | number;
}

/** Binding failed: the port is taken, or below 1024 without root, or the address is not ours. */
export class ListenError extends Error {
  constructor(
    readonly address: string,
    readonly port: number,
    readonly errno: string,
  ) {
    super(`cannot listen on ${address.includes(':') ? `[${address}]` : address}:${port}: ${errno}`);
    this.name = 'ListenError';
  }
}

/**
 * Binds (without listening: the worker's `listen` does that) a TCP socket on `host:port`. Port 0 picks a free
 * one (the worker's server.address() tells which).
 *
 * Why not cluster's own sharing: a handle shared by cluster (SCHED_NONE and SCHED_RR alike) is closed by the
 * primary as soon as the last worker using it is gone, so a worker that crashes takes the listening socket with
 * it and clients are refused until the next worker listens. This handle stays open in the primary for as long
 * as the edge runs; once any worker has called listen() on it the kernel keeps queueing connections in its
 * backlog, also while no worker exists. `_createServerHandle` is undocumented, but it is exactly what cluster's
 * primary calls for SCHED_NONE (lib/internal/cluster/shared_handle.js), and a worker listening on a received
 * handle is the path cluster's workers take.
 */
export async function bindListenSocket(host: string, port: number): Promise<ListenHandle> {
  const family = net.isIP(host);
  const address = family === 0 ? await lookup(host) : { address: host, family };
  // Cast: the internal export is not declared by @types/node (see NetInternals).
  const internals = net as unknown as NetInternals;
  const handle = internals._createServerHandle(address.address, port, address.family === 6 ? 6 : 4);
  if (typeof handle === 'number') throw new ListenError(address.address, port, getSystemErrorName(handle));
  return handle;
}
