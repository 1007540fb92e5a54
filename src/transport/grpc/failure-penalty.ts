/**
 * Slows down a peer that keeps failing authentication: after `free` failures within `windowMs`,
 * each refusal waits twice as long as the one before, up to `maxDelayMs`. Peers are keyed by
 * address without the port (a new connection does not start over); at most `maxPeers` are
 * remembered, the oldest forgotten first, so a flood of addresses cannot grow memory.
 */
export const PENALTY_DEFAULTS = { free: 5, windowMs: 60_000, baseDelayMs: 50, maxDelayMs: 2_000, maxPeers: 10_000 };

export class FailurePenalty {
  private readonly peers = new Map<string, { since: number; failures: number }>();

  constructor(
    private readonly opts = PENALTY_DEFAULTS,
    private readonly now = () => Date.now(),
  ) {}

  /** Records a failure of `peer` ("ipv4:1.2.3.4:5678" or "1.2.3.4:5678") and answers how long its refusal waits. */
  failed(peer: string): number {
    if (this.opts.maxDelayMs === 0) return 0;
    const host = peer.replace(/:\d+$/, "");
    const t = this.now();
    let p = this.peers.get(host);
    if (p === undefined || t - p.since > this.opts.windowMs) {
      if (p === undefined && this.peers.size >= this.opts.maxPeers) this.peers.delete(this.peers.keys().next().value!);
      p = { since: t, failures: 0 };
    }
    this.peers.delete(host);
    this.peers.set(host, p);
    p.failures++;
    const over = p.failures - this.opts.free;
    return over <= 0 ? 0 : Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(over - 1, 16));
  }
}
