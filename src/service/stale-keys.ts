import type { Clock } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import { compareKeys } from "../domain/key-order.js";
import { checkPrefix } from "../domain/limits.js";
import { isLive, type LogRecord } from "@ctm/core/record";
import type { LogStore } from "../storage/log-store.js";
import type { KeyReads, ReadStats } from "./read-stats.js";

export interface StaleKey {
  record: LogRecord;
  reads: KeyReads;
  /** "unread", or what makes its rollout ready to become a static value. */
  reason: string;
}

const DAY = 86_400_000;
const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;
/** Keys looked at between turns of the event loop. */
const STEP = 10_000;

/** Page tokens: the last key of the page, base64url, so the next page starts after it. */
const encodeAfter = (key: string): string => Buffer.from(`k1:${key}`, "utf8").toString("base64url");
function decodeAfter(token: string): string | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith("k1:")) throw invalidArgument("page_token", "is not a token this server issued");
  return text.slice(3);
}

/** Why a key's rollout is done rolling out and could be a plain value, if it is. */
export function staticCandidate(r: LogRecord): string | undefined {
  if (r.rollout === undefined) return undefined;
  if (r.rollout.state.killed) return "rollout killed: everyone gets the stable value; set it as a plain value (or resume)";
  if (r.kind === "rollout_finalized") return `rollout finished ${new Date(r.time).toISOString()}: its A/B split still runs; pick a variant and set it as a plain value`;
  return undefined;
}

/**
 * One page of the live keys under `prefix`, in key order, that nobody read or changed for
 * `unreadForMs` (a key never read counts from when counting began), or whose rollout could
 * become a static value.
 */
export async function staleKeys(
  store: LogStore,
  reads: ReadStats,
  clock: Clock,
  q: { prefix: string; unreadForMs?: number; pageSize: number; pageToken: string },
): Promise<{ keys: StaleKey[]; nextPageToken: string }> {
  checkPrefix(q.prefix);
  const unreadFor = q.unreadForMs ?? 30 * DAY;
  if (!Number.isSafeInteger(unreadFor) || unreadFor < 0) throw invalidArgument("unread_for", "must be a non-negative duration");
  if (!Number.isSafeInteger(q.pageSize) || q.pageSize < 0) throw invalidArgument("page_size", "must be a non-negative integer");
  const limit = Math.min(q.pageSize === 0 ? PAGE_DEFAULT : q.pageSize, PAGE_MAX);
  const after = decodeAfter(q.pageToken);
  const cutoff = clock.now() - unreadFor;
  // The first limit + 1 matches in key order, kept sorted as the keys go by: no sort of them all.
  const first: StaleKey[] = [];
  let n = 0;
  for (const r of store.eachLatest(q.prefix)) {
    if (++n % STEP === 0) await new Promise((res) => setImmediate(res));
    if (!isLive(r) || r.key.startsWith("_ctm/") || (after !== undefined && compareKeys(r.key, after) <= 0)) continue;
    if (first.length > limit && compareKeys(r.key, first[limit]!.record.key) >= 0) continue;
    const k = reads.of(r.key);
    const rollout = staticCandidate(r);
    const unread = Math.max(k.lastRead, reads.since) <= cutoff && r.time <= cutoff;
    if (rollout === undefined && !unread) continue;
    let lo = 0;
    let hi = first.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(first[mid]!.record.key, r.key) < 0) lo = mid + 1;
      else hi = mid;
    }
    first.splice(lo, 0, { record: r, reads: k, reason: rollout ?? "unread" });
    if (first.length > limit + 1) first.pop();
  }
  const page = first.slice(0, limit);
  return { keys: page, nextPageToken: first.length > limit ? encodeAfter(page[page.length - 1]!.record.key) : "" };
}

/** staleKeys over one store and its read counters (what ListStaleKeys serves). */
export class StaleKeys {
  constructor(
    private readonly store: LogStore,
    private readonly reads: ReadStats,
    private readonly clock: Clock,
  ) {}

  async stale(q: { prefix: string; unreadForMs?: number; pageSize: number; pageToken: string }): Promise<{ keys: StaleKey[]; nextPageToken: string }> {
    await this.reads.ready();
    return staleKeys(this.store, this.reads, this.clock, q);
  }

  get countingSince(): number {
    return this.reads.since;
  }
}
