export interface RateLimitOptions {
  /** Tokens added per second for each client address. */
  ratePerSecond: number;
  /** Bucket size: how many requests a client may burst. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per client address. Hand-written: it is a dozen lines, and the limiter packages on npm are
 * middleware for one framework or want Redis. Full buckets are swept once a minute so memory follows the active
 * clients, not every address ever seen.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(private readonly options: RateLimitOptions) {}

  /** Takes a token; returns 0 when allowed, else the seconds until a token is there (for Retry-After). */
  take(key: string, now: number): number {
    this.sweep(now);
    const { ratePerSecond, burst } = this.options;
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond));
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const { ratePerSecond, burst } = this.options;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond >= burst)
        this.buckets.delete(key);
    }
  }
}
