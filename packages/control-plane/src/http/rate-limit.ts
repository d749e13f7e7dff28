import { createHash } from 'node:crypto';

export interface RateLimitSettings {
  /** Requests a client may send at once. */
  burst: number;
  /** Requests per second refilled. */
  perSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per credential (or per address for anonymous calls). Hand-written: @fastify/rate-limit
 * counts fixed windows, which let a client send twice the limit across a window edge; a bucket
 * gives a steady rate with a bounded burst.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; returns 0 if allowed, else the seconds until one is available. */
  take(key: string): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.settings.burst, at: t };
    b.tokens = Math.min(this.settings.burst, b.tokens + ((t - b.at) / 1000) * this.settings.perSecond);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.set(key, b);
      return 0;
    }
    this.set(key, b);
    return Math.max(1, Math.ceil((1 - b.tokens) / this.settings.perSecond));
  }

  private set(key: string, b: Bucket): void {
    this.buckets.set(key, b);
    // Forget full buckets when the map grows, so a scan of many addresses cannot exhaust memory.
    if (this.buckets.size > 50_000) {
      const t = this.now();
      for (const [k, v] of this.buckets) {
        if (v.tokens + ((t - v.at) / 1000) * this.settings.perSecond >= this.settings.burst)
          this.buckets.delete(k);
      }
    }
  }
}

/** The bucket key: a hash of the credential (never the credential itself), else the address. */
export function rateLimitKey(authorization: string | undefined, ip: string): string {
  if (authorization)
    return `c:${createHash('sha256').update(authorization).digest('base64url').slice(0, 22)}`;
  return `ip:${ip}`;
}
