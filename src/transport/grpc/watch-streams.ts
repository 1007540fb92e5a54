/**
 * Open Watch streams per client, so one client cannot hold the memory of unlimited streams: each
 * holds a watcher and up to one response (WATCH_WIRE_BYTES) waiting for a client that does not
 * read. A client is its principal (with auth on) and its address without the port: new
 * connections do not start over, and the instances of a fleet that share a token, each on its
 * own address, do not share a limit.
 */
export class WatchStreams {
  private readonly open = new Map<string, number>();

  /** `limit` 0: no limit. */
  constructor(readonly limit: number) {}

  /** The client's key from the principal and grpc-js's peer ("1.2.3.4:5678", "[::1]:5678"). */
  static clientOf(principal: string | undefined, peer: string): string {
    return `${principal ?? ""}@${peer.replace(/:\d+$/, "")}`;
  }

  /** Counts a stream of `client` in; false when the client already holds `limit`. */
  enter(client: string): boolean {
    const n = this.open.get(client) ?? 0;
    if (this.limit > 0 && n >= this.limit) return false;
    this.open.set(client, n + 1);
    return true;
  }

  leave(client: string): void {
    const n = (this.open.get(client) ?? 1) - 1;
    if (n > 0) this.open.set(client, n);
    else this.open.delete(client);
  }

  /** Streams `client` holds. */
  of(client: string): number {
    return this.open.get(client) ?? 0;
  }
}
