import { invalidArgument } from "../domain/errors.js";
import { answerBytes, checkPrefix, LIMITS } from "../domain/limits.js";
import type { LogRecord, RecordKind } from "@ctm/core/record";
import type { LogStore } from "../storage/log-store.js";
import type { ConfigService } from "./config-service.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import type { KeyReads, ReadStats } from "./read-stats.js";

export interface KeyListing {
  record: LogRecord;
  rolling: boolean;
  reads: KeyReads;
}

export interface ChangeQuery {
  prefix: string;
  author: string;
  kinds: ReadonlySet<RecordKind>;
  limit: number;
  pageToken: string;
}

/** Records one ListChanges call looks at, at most: a narrow filter over a long log answers in pages. */
const SCAN_BUDGET = 20_000;
/** Records read from the log at a time, newest stretch first. */
const CHUNK = 1000;
const KEYS_DEFAULT = 100;
const KEYS_MAX = 1000;
const CHANGES_DEFAULT = 50;
const CHANGES_MAX = 500;

/**
 * What a browsing client (the console) lists: the live keys with how they are read, and the
 * newest changes across keys. Both are paged and bounded per call, so a store of any size
 * answers without holding the event loop.
 */
export class ListingService {
  constructor(
    private readonly store: LogStore,
    private readonly config: ConfigService,
    private readonly reads: ReadStats,
    private readonly scanBudget = SCAN_BUDGET,
  ) {}

  /** Live keys under `prefix` in key order, a page at a time (pages read at one revision, as Snapshot's). */
  async listKeys(prefix: string, pageSize: number, pageToken: string): Promise<{ keys: KeyListing[]; nextPageToken: string }> {
    if (!Number.isSafeInteger(pageSize) || pageSize < 0) throw invalidArgument("page_size", "must be a non-negative integer");
    const page = await this.config.snapshot(prefix, undefined, Math.min(pageSize || KEYS_DEFAULT, KEYS_MAX), pageToken);
    await this.reads.ready();
    return {
      keys: page.records.map((record) => ({ record, rolling: record.rollout !== undefined, reads: this.reads.of(record.key) })),
      nextPageToken: page.nextPageToken,
    };
  }

  /**
   * Records newest first, filtered. Each call reads at most SCAN_BUDGET records below its token,
   * so a page may come back short (even empty) with a token to continue; "" once the oldest
   * record served has been looked at.
   */
  async listChanges(q: ChangeQuery): Promise<{ records: LogRecord[]; nextPageToken: string }> {
    checkPrefix(q.prefix);
    if (!Number.isSafeInteger(q.limit) || q.limit < 0) throw invalidArgument("limit", "must be a non-negative integer");
    const limit = Math.min(q.limit || CHANGES_DEFAULT, CHANGES_MAX);
    const head = this.store.headRevision;
    const token = decodePageToken(q.pageToken);
    if (token !== undefined && token > head + 1) throw invalidArgument("page_token", "is not a token this server issued");
    const floor = Math.max(1, this.store.firstRevision);
    const matches = (r: LogRecord): boolean =>
      r.key.startsWith(q.prefix) && (q.author === "" || r.author === q.author) && (q.kinds.size === 0 || q.kinds.has(r.kind));
    const out: LogRecord[] = [];
    // Everything below `before` is still to be looked at.
    let before = token ?? head + 1;
    let scanned = 0;
    // A page also ends before the record that would pass the byte budget (it holds at least one).
    let bytes = 0;
    let full = false;
    const take = (r: LogRecord): boolean => {
      bytes += answerBytes(r);
      if (bytes > LIMITS.changesPageBytes && out.length > 0) return (full = true) && false;
      out.push(r);
      return true;
    };
    while (before > floor && scanned < this.scanBudget && out.length < limit && !full) {
      const step = Math.min(CHUNK, this.scanBudget - scanned);
      const from = Math.max(floor, before - step);
      const chunk = await this.store.range(from, before - 1, step);
      scanned += chunk.length;
      let i = chunk.length - 1;
      for (; i >= 0 && out.length < limit; i--) if (matches(chunk[i]!) && !take(chunk[i]!)) break;
      // Stopped inside the chunk: continue below the last record looked at (none of this chunk's
      // when the budget ended the page at its first record).
      if (i >= 0) before = i + 1 < chunk.length ? chunk[i + 1]!.revision : before;
      else before = from;
      if (chunk.length === 0) break;
    }
    return { records: out, nextPageToken: before > floor ? encodePageToken(before) : "" };
  }
}
