import { createHmac, randomBytes } from "node:crypto";
import type { Clock } from "../../domain/clock.js";

/** What a change-notification stream was issued for: the bulk caller's credentials and scope. */
export interface Ticket {
  /** The caller's `authorization` as the chain read it; undefined with auth off. */
  authorization: string | undefined;
  prefix: string;
  issuedAt: number;
}

/**
 * Tickets for OFREP's change-notification streams. A browser's EventSource cannot send headers,
 * so the stream's URL carries a ticket instead of the token: an opaque id, the same for one
 * credential and prefix (an unchanged URL lets providers keep their connection), that only this
 * process can redeem; the token itself never leaves the server. A ticket lives `ttlMs` after it
 * was last issued or used; at most `max` are held, the least recently used go first.
 */
export class OfrepTickets {
  private readonly secret = randomBytes(32);
  private readonly held = new Map<string, Ticket>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 3_600_000,
    private readonly max = 10_000,
  ) {}

  issue(authorization: string | undefined, prefix: string): string {
    const id = createHmac("sha256", this.secret).update(`${authorization ?? ""}\0${prefix}`).digest("base64url");
    this.held.delete(id);
    if (this.held.size >= this.max) this.held.delete(this.held.keys().next().value!);
    this.held.set(id, { authorization, prefix, issuedAt: this.clock.now() });
    return id;
  }

  /** The live ticket `id` names, renewed; undefined when unknown, evicted or expired. */
  redeem(id: string): Ticket | undefined {
    const t = this.held.get(id);
    if (t === undefined) return undefined;
    const now = this.clock.now();
    this.held.delete(id);
    if (now - t.issuedAt > this.ttlMs) return undefined;
    t.issuedAt = now;
    this.held.set(id, t);
    return t;
  }
}
