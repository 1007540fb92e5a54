import * as grpc from "@grpc/grpc-js";
import { RESERVED_PREFIX } from "../../domain/validation/validator.js";
import type { ConfigService } from "../../service/config-service.js";
import { HttpError, type Failure, type HttpCall, type HttpChain } from "./http-chain.js";
import type { Route } from "./http-face.js";
import { httpStatusOf } from "./http-status.js";
import { OfrepChanges } from "./ofrep-changes.js";
import { sendOfrepError } from "./ofrep-error.js";
import { readCheck } from "./ofrep-read-check.js";
import type { OfrepTickets, Ticket } from "./ofrep-tickets.js";

/** What an event announces: the last revision that changed something the caller reads, and when. */
type Change = { revision: number; time: number };

/** Open streams at most: each holds a connection and a timer. */
const MAX_STREAMS = 10_000;
/** A comment this often keeps proxies from closing an idle stream, and re-checks its credentials. */
const HEARTBEAT_MS = 15_000;

/**
 * OFREP's change notifications (ADR-0008): the bulk answer announces
 * `GET /ofrep/v1/events?ticket=...`, a server-sent event stream that sends
 * `{"type":"refetchEvaluation"}` whenever a key the caller may read under its prefix changes
 * (one event per commit, its id the revision), and the provider then fetches the bulk
 * evaluation again. The ticket stands in for the token, which an EventSource cannot send; the
 * credentials behind it are checked again at every event and heartbeat, so a revoked token's
 * stream ends. A reconnect with a Last-Event-ID behind the head gets one event at once.
 */
export class OfrepEvents implements Route {
  readonly name = "ofrep-events";
  readonly prefix = "/ofrep/v1/events";
  // The ticket authenticates, not a header.
  readonly authenticated = false;
  private readonly changes: OfrepChanges;

  constructor(
    private readonly config: ConfigService,
    private readonly chain: HttpChain,
    private readonly tickets: OfrepTickets,
  ) {
    this.changes = new OfrepChanges(config);
  }

  async handle(call: HttpCall): Promise<void> {
    if (call.req.method !== "GET") throw new HttpError(grpc.status.UNIMPLEMENTED, "the event stream is read with GET", { allow: "GET" });
    const ticketId = call.query.get("ticket") ?? "";
    const ticket = this.tickets.redeem(ticketId);
    if (ticket === undefined) throw new HttpError(grpc.status.UNAUTHENTICATED, "unknown or expired ticket: fetch the bulk evaluation again for a new one");
    let mayRead = this.reader(ticket);
    this.chain.gate();
    if (this.changes.listeners >= MAX_STREAMS) throw new HttpError(grpc.status.RESOURCE_EXHAUSTED, `${MAX_STREAMS} event streams are open`, { "retry-after": "5" });
    const res = call.res;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" });
    res.write("retry: 2000\n\n");
    let pending: Change | undefined;
    let ended = false;
    const send = (c: Change): void => {
      // While the client is slow, only the newest change waits: one refetch covers them all.
      if (res.writableNeedDrain) {
        pending = c;
        return;
      }
      res.write(`id: ${c.revision}\ndata: {"type":"refetchEvaluation","lastModified":${Math.floor(c.time / 1000)}}\n\n`);
    };
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    const unsubscribe = this.changes.subscribe(ticket.prefix, {
      batch: (records) => {
        if (!this.recheck(ticket, (m) => (mayRead = m))) return end();
        for (let i = records.length - 1; i >= 0; i--) {
          const r = records[i]!;
          if (r.key.startsWith(RESERVED_PREFIX) || !mayRead(r.key)) continue;
          send(r);
          return;
        }
      },
      end,
    });
    const heartbeat = setInterval(() => {
      // Redeeming renews the ticket: a stream in use keeps it from expiring.
      const still = this.tickets.redeem(ticketId);
      if (still === undefined || !this.recheck(still, (m) => (mayRead = m))) return end();
      if (!res.writableNeedDrain) res.write(": ping\n\n");
    }, HEARTBEAT_MS);
    heartbeat.unref();
    res.on("drain", () => {
      const c = pending;
      pending = undefined;
      if (c !== undefined && !ended) send(c);
    });
    res.once("close", end);
    const last = call.req.headers["last-event-id"];
    if (typeof last === "string" && /^\d{1,16}$/.test(last) && Number(last) < this.config.headRevision) {
      send({ revision: this.config.headRevision, time: Date.now() });
    }
  }

  fail(call: HttpCall, f: Failure): void {
    sendOfrepError(call.res, f.code === grpc.status.UNIMPLEMENTED ? 405 : httpStatusOf(f.code), "GENERAL", f.message, undefined, f.headers);
  }

  /** Whether the ticket's credentials still authenticate; if so, hands their current key filter to `use`. */
  private recheck(t: Ticket, use: (mayRead: (key: string) => boolean) => void): boolean {
    try {
      use(this.reader(t));
      return true;
    } catch {
      return false;
    }
  }

  /** Who the ticket's credentials are now (throws when they no longer authenticate), as a key filter. */
  private reader(t: Ticket): (key: string) => boolean {
    const auth = this.chain.opts.auth;
    if (auth === undefined) return () => true;
    return readCheck(auth.service.authenticate(t.authorization, undefined), auth.context);
  }
}
