import type { Socket } from "node:net";
import ipaddr from "ipaddr.js";
import type { Logger } from "pino";
import type { Metrics } from "../service/metrics.js";

/** Which port a connection came to. */
export type Face = "grpc" | "http" | "metrics";

/** Why a connection was closed before it was served. */
export type RefusalReason = "per_client" | "total" | "silent";

export interface ConnectionRefusal {
  face: Face;
  reason: RefusalReason;
  /** The client's address as the limit counts it (see clientOfAddress). */
  client: string;
  /** The connections it held open at the time. */
  open: number;
}

export interface ConnectionGuardOptions {
  /** Connections one client address may hold open across ctmd's ports; 0: no limit. */
  perClient: number;
  /** Connections the process holds open across its ports, whoever the clients; 0: no limit. */
  total: number;
  /** A connection that has sent no byte within this is closed; 0: never. */
  silentMs: number;
  /** Told of every connection closed by the guard. */
  onRefused?: (r: ConnectionRefusal) => void;
  /** Told when the connections open on a face change. */
  onOpen?: (face: Face, delta: 1 | -1) => void;
}

/**
 * Bounds what a client's connections can hold: each one is a file descriptor and an HTTP/2
 * session's memory, so a client that opens thousands and says nothing would otherwise starve
 * every other client, and the store of its files: LevelDB that cannot open a file fails,
 * and stays failed until a restart. A client holds at most `perClient` connections across
 * ctmd's ports, counted by address, since nobody has authenticated on a connection that has
 * just opened, and all clients together at most `total`, which leaves the store its files;
 * past either, a connection is closed at once. A connection that sends nothing within
 * `silentMs` is closed too. One guard serves every port of a process.
 */
export class ConnectionGuard {
  private readonly open = new Map<string, number>();
  private openTotal = 0;

  constructor(private readonly opts: ConnectionGuardOptions) {}

  /**
   * Whether `socket` may be served; when not, it has been destroyed. It counts until it closes.
   * The metrics port is left out of the total, so that Prometheus can still scrape (and see the
   * refusals) while clients hold every connection the process may open.
   */
  admit(socket: Socket, face: Face, silentMs = this.opts.silentMs): boolean {
    const client = clientOfAddress(socket.remoteAddress ?? "");
    const n = this.open.get(client) ?? 0;
    const inTotal = face !== "metrics";
    const reason = this.opts.perClient > 0 && n >= this.opts.perClient ? "per_client" : inTotal && this.opts.total > 0 && this.openTotal >= this.opts.total ? "total" : undefined;
    if (reason) {
      socket.destroy();
      this.opts.onRefused?.({ face, reason, client, open: n });
      return false;
    }
    this.open.set(client, n + 1);
    if (inTotal) this.openTotal++;
    this.opts.onOpen?.(face, 1);
    const silent =
      silentMs > 0
        ? setTimeout(() => {
            if (socket.bytesRead > 0) return;
            socket.destroy();
            this.opts.onRefused?.({ face, reason: "silent", client, open: this.of(client) });
          }, silentMs).unref()
        : undefined;
    socket.once("close", () => {
      clearTimeout(silent);
      if (inTotal) this.openTotal--;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
      this.opts.onOpen?.(face, -1);
    });
    return true;
  }

  /** The connections `client` (an address as clientOfAddress gives it) holds open. */
  of(client: string): number {
    return this.open.get(client) ?? 0;
  }
}

/**
 * The client an address stands for: an IPv4 address (also when it arrives mapped into IPv6),
 * or an IPv6 address's /64, which one host is commonly given whole.
 */
export function clientOfAddress(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const ip = ipaddr.process(address);
  if (ip.kind() === "ipv4") return ip.toString();
  const network = (ip as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...network, 0, 0, 0, 0]).toString()}/64`;
}

/** How often each client's refusals are logged: a flood of them is one line now and then. */
const SAY_EVERY_MS = 10_000;

/**
 * The guard of one ctmd process, on its flags: refusals counted in `ctm_connections_refused_total`
 * and logged as warnings, at most one line per client and reason every 10 s (with how many were
 * not logged since); open connections in `ctm_connections`.
 */
export function daemonConnectionGuard(
  cfg: { connectionsPerClient: number; maxConnections: number; silentConnectionMs: number },
  log: Logger,
  metrics?: Pick<Metrics, "connections" | "connectionsRefused">,
): ConnectionGuard {
  const said = new Map<string, { at: number; unsaid: number }>();
  return new ConnectionGuard({
    perClient: cfg.connectionsPerClient,
    total: cfg.maxConnections,
    silentMs: cfg.silentConnectionMs,
    onOpen: (face, delta) => metrics?.connections.inc({ face }, delta),
    onRefused: (r) => {
      metrics?.connectionsRefused.inc({ face: r.face, reason: r.reason });
      const key = `${r.reason} ${r.client}`;
      const now = Date.now();
      const last = said.get(key);
      if (last && now - last.at < SAY_EVERY_MS) {
        last.unsaid++;
        return;
      }
      // Forgotten once quiet, so the map holds the clients refused lately, not every one ever.
      if (said.size > 10_000) for (const [k, v] of said) if (now - v.at >= SAY_EVERY_MS) said.delete(k);
      const more = last?.unsaid ?? 0;
      said.set(key, { at: now, unsaid: 0 });
      const text =
        r.reason === "per_client"
          ? `a client holds ${r.open} connections already (--connections-per-client); its new connection was closed`
          : r.reason === "total"
            ? `ctmd holds ${cfg.maxConnections} connections already (--max-connections); a new one was closed`
            : "a connection sent nothing after it opened (--silent-connection-ms); it was closed";
      log.warn({ face: r.face, client: r.client, open: r.open, ...(more > 0 ? { notLogged: more } : {}) }, text);
    },
  });
}
