/**
 * Requests per second per client (a token bucket each, burst = one second's worth). Buckets idle
 * for a minute are dropped, and the map never holds more than `maxClients`: a flood of new client
 * names costs bounded memory (the oldest buckets go first, which only makes them start full).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxClients = 10_000,
  ) {}

  /** 0 when `client` may go on now, else the seconds until it may (for Retry-After). */
  take(client: string): number {
    const t = this.now();
    let b = this.buckets.get(client);
    if (b === undefined) {
      if (this.buckets.size >= this.maxClients) this.evict(t);
      b = { tokens: this.perSecond, at: t };
    } else {
      b.tokens = Math.min(this.perSecond, b.tokens + ((t - b.at) / 1000) * this.perSecond);
      b.at = t;
      this.buckets.delete(client);
    }
    // Re-inserted on every use, so the map's order is least recently used first.
    this.buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }

  private evict(t: number): void {
    for (const [k, b] of this.buckets) {
      if (this.buckets.size < this.maxClients && t - b.at < 60_000) break;
      this.buckets.delete(k);
    }
  }
}
