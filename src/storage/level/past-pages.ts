import type { LogRecord } from "@ctm/core/record";
import type { StoredBytes } from "../log-store.js";
import type { HeadRecords } from "./head-records.js";
import type { PastRead, PastReader } from "./past-reader.js";
import type { RevisionIndex } from "./revision-index.js";

/** Pages read ahead at once, and how long one waits for its call. */
const AHEAD = 2;
const AHEAD_MS = 10_000;
/** What a record is taken to weigh before any page has been read: it sizes a page's first scan. */
const FIRST_GUESS_BYTES = 256;

/** A scan of the revision index: a page's next keys, the items a PastReader reads for them. */
interface Round {
  keys: string[];
  revisions: number[];
  /** A key's record when it is the key's head, held in memory: nothing to read. */
  heads: (LogRecord | undefined)[];
  /** The last key looked at, when keys follow it; the scan then looked at `looked` keys. */
  more: string | undefined;
  looked: number;
  read: Promise<PastRead>;
}

/**
 * Snapshot pages in the past, their records read on the PastReader's thread: a page is the keys
 * the revision index finds at a revision, their records taken from the heads in memory or read
 * from the log, until the page's bytes are spent. The page after each one is read ahead, so that
 * its records are read while this one is turned into protobuf and sent. A key's record at a
 * revision never changes, whatever is written since; a compaction that took the revision is
 * caught by the caller (stillServed) after the page is made, as for any page.
 */
export class PastPages {
  private readonly ahead = new Map<string, { round: Round; timer: NodeJS.Timeout }>();
  /** The bytes of a record in the last page read, to size the next page's scan. */
  private recordBytes = FIRST_GUESS_BYTES;

  constructor(
    private readonly reader: PastReader,
    private readonly committed: HeadRecords,
    private readonly headSize: (r: LogRecord) => number,
  ) {}

  async page(index: RevisionIndex, prefix: string, rev: number, limit: number, after: string | undefined, maxBytes: number): Promise<{ records: (LogRecord | StoredBytes)[]; last?: string } | { missing: number }> {
    const records: (LogRecord | StoredBytes)[] = [];
    let used = 0;
    let looked = 0;
    let round = this.take(aheadKey(prefix, rev, limit, maxBytes, after)) ?? this.scan(index, prefix, rev, Math.min(limit, this.keysFor(maxBytes)), after, maxBytes, true);
    let last: string | undefined;
    for (;;) {
      const res = await round.read;
      if ("missing" in res) return res;
      let from = 0;
      for (let i = 0; i < res.count; i++) {
        const head = round.heads[i];
        if (head !== undefined) records.push(head);
        else {
          const end = res.ends[i]!;
          records.push({ key: round.keys[i]!, revision: round.revisions[i]!, stored: res.bytes.subarray(from, end) });
          from = end;
        }
      }
      used += res.used;
      looked += round.looked;
      if (res.count < round.keys.length) {
        // The bytes are spent: the next page starts after the last record sent.
        last = records[records.length - 1]!.key;
        break;
      }
      if (round.more === undefined) break;
      // Keys follow: the page ends at `limit` keys looked at, else the scan was too short for the bytes left.
      const keysLeft = limit - looked;
      if (keysLeft <= 0) {
        last = round.more;
        break;
      }
      round = this.scan(index, prefix, rev, Math.min(keysLeft, this.keysFor(maxBytes - used)), round.more, maxBytes - used, records.length === 0);
    }
    if (records.length > 0) this.recordBytes = Math.max(1, used / records.length);
    if (last !== undefined) this.readAhead(index, prefix, rev, limit, last, maxBytes);
    return last === undefined ? { records } : { records, last };
  }

  /**
   * Scans up to `keys` keys after `after` and sends their items to the reader. `keys` counts
   * the keys looked at, as the revision index's pages do, whether or not they had a record yet.
   */
  private scan(index: RevisionIndex, prefix: string, rev: number, keys: number, after: string | undefined, maxBytes: number, first: boolean): Round {
    const found: Pick<Round, "keys" | "revisions" | "heads"> = { keys: [], revisions: [], heads: [] };
    let more: string | undefined;
    const items: number[] = [];
    for (const part of index.pageAt(prefix, rev, keys, after)) {
      if ("last" in part) {
        more = part.last;
        continue;
      }
      for (const [key, revision, newest] of part.items) {
        // Only a key's newest revision can be its head; one that is not durable yet is read.
        const head = newest ? this.committed.get(key) : undefined;
        const held = head !== undefined && head.revision === revision ? head : undefined;
        found.keys.push(key);
        found.revisions.push(revision);
        found.heads.push(held);
        items.push(held === undefined ? revision : -this.headSize(held));
      }
    }
    const read = this.reader.read(Float64Array.from(items), maxBytes, first);
    // A round read ahead may never be taken: it must not fail unheard.
    read.catch(() => undefined);
    // Made whole in one literal: a round spread from one whose `more` was set later took another
    // hidden class, and page(), optimized for one, was thrown out of optimized code every listing.
    return { keys: found.keys, revisions: found.revisions, heads: found.heads, more, looked: keys, read };
  }

  /** About how many keys `bytes` hold, from the records read so far, with room to spare. */
  private keysFor(bytes: number): number {
    return Math.max(64, Math.ceil((bytes / this.recordBytes) * 1.25));
  }

  private readAhead(index: RevisionIndex, prefix: string, rev: number, limit: number, after: string, maxBytes: number): void {
    const key = aheadKey(prefix, rev, limit, maxBytes, after);
    if (this.ahead.has(key)) return;
    if (this.ahead.size >= AHEAD) this.take(this.ahead.keys().next().value!);
    const round = this.scan(index, prefix, rev, Math.min(limit, this.keysFor(maxBytes)), after, maxBytes, true);
    this.ahead.set(key, { round, timer: setTimeout(() => this.take(key), AHEAD_MS).unref() });
  }

  private take(key: string): Round | undefined {
    const held = this.ahead.get(key);
    if (held === undefined) return undefined;
    clearTimeout(held.timer);
    this.ahead.delete(key);
    return held.round;
  }
}

const aheadKey = (prefix: string, rev: number, limit: number, maxBytes: number, after: string | undefined): string => JSON.stringify([prefix, rev, limit, maxBytes, after ?? null]);
