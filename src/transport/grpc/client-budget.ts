/**
 * How much of a bounded resource each client holds at once (Watch streams, bytes of requests
 * being served), so one client cannot take the memory of unlimited ones. A client is its
 * principal (with auth on) and its address without the port: new connections do not start
 * over, and the instances of a fleet that share a token, each on its own address, do not share
 * a budget.
 */
export class ClientBudget {
  private readonly held = new Map<string, number>();

  /** `limit` 0: no limit. */
  constructor(readonly limit: number) {}

  /** The client's key from the principal and grpc-js's peer ("1.2.3.4:5678", "::1:5678"). */
  static clientOf(principal: string | undefined, peer: string): string {
    return ClientBudget.clientAt(principal, peer.replace(/:\d+$/, ""));
  }

  /** The client's key from the principal and an address without its port (an HTTP request's socket). */
  static clientAt(principal: string | undefined, address: string): string {
    return `${principal ?? ""}@${address}`;
  }

  /**
   * Takes `amount` for `client`; false, taking nothing, when that would pass the limit. A client
   * that holds nothing may always take: one request larger than the whole budget is still served.
   */
  take(client: string, amount = 1): boolean {
    const n = this.held.get(client) ?? 0;
    if (this.limit > 0 && n > 0 && n + amount > this.limit) return false;
    this.held.set(client, n + amount);
    return true;
  }

  give(client: string, amount = 1): void {
    const n = (this.held.get(client) ?? amount) - amount;
    if (n > 0) this.held.set(client, n);
    else this.held.delete(client);
  }

  /** What `client` holds. */
  of(client: string): number {
    return this.held.get(client) ?? 0;
  }
}
