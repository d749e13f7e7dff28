import { Pool } from 'undici';

/** How the edge talks to one upstream: the pool's timeouts. */
export interface UpstreamPoolOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** `ip:port` or `[v6]:port` → host and port; throws on anything else, as the route table is validated upstream. */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535 || host === '') {
    throw new Error(`upstream address must be ip:port, got ${JSON.stringify(address)}`);
  }
  return { host, port };
}

/**
 * One upstream address (`ip:port`) and what the edge knows about it: its keep-alive pool, requests in flight,
 * and health. Shared by every route that names the address, and kept across route swaps while the address stays.
 *
 *   available ──passive error──▶ down until now+passiveDownMs ──time passes──▶ available (tried again)
 *   available ──active check fails──▶ down ──active check passes──▶ available
 */
export class Upstream {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly pool: Pool;
  /** Requests and tunnels in flight; the balancer's input. */
  outstanding = 0;
  /** Set once the address left the route table; the pool closes after its requests finish. */
  isRetired = false;
  private passiveDownUntil = 0;
  private isActiveDown = false;

  constructor(address: string, options: UpstreamPoolOptions) {
    this.address = address;
    const { host, port } = parseAddress(address);
    this.host = host;
    this.port = port;
    const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.pool = new Pool(origin, {
      // One request per connection at a time: pipelining would let one slow response stall the ones behind it.
      pipelining: 1,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
    });
  }

  isAvailable(now: number): boolean {
    return !this.isRetired && !this.isActiveDown && now >= this.passiveDownUntil;
  }

  /** A connection error: skip this upstream for `ms`, then try it again. */
  markPassiveDown(now: number, ms: number): void {
    this.passiveDownUntil = now + ms;
  }

  /** The active checker's verdict; a passing check also clears a passive mark. Returns whether health changed. */
  setActiveHealth(isHealthy: boolean): boolean {
    const wasDown = this.isActiveDown;
    this.isActiveDown = !isHealthy;
    if (isHealthy) this.passiveDownUntil = 0;
    return wasDown !== this.isActiveDown;
  }

  /** Stops new requests; those in flight finish before the pool closes. */
  async retire(): Promise<void> {
    this.isRetired = true;
    await this.pool.close();
  }

  async destroy(): Promise<void> {
    this.isRetired = true;
    await this.pool.destroy();
  }
}
