import type { LogRecord } from "@ctm/core/record";
import { GENESIS } from "../level/record-bytes.js";

/** A committed record above meta/indexed, with the bytes the indexer copies into h/<key>. */
export interface TailEntry {
  record: LogRecord;
  bytes: Buffer;
}

/**
 * The log as this replica has applied it, in memory: every key's newest record, the last
 * revision and the hash of its record, and the records above meta/indexed (the tail), which
 * reads answer from here until etcd's indexes cover them.
 */
export class AppliedLog {
  /** Every key's newest record. */
  readonly committed = new Map<string, LogRecord>();
  committedRev = 0;
  committedHash: Buffer = GENESIS;
  indexedRev = 0;
  tail: TailEntry[] = [];
  private sortedKeys: { key: string; bytes: Buffer }[] | undefined;

  get keyCount(): number {
    return this.committed.size;
  }

  latest(key: string): LogRecord | undefined {
    return this.committed.get(key);
  }

  eachLatest(prefix: string): Iterable<LogRecord> {
    return prefix === "" ? this.committed.values() : this.eachLatestUnder(prefix);
  }

  private *eachLatestUnder(prefix: string): Iterable<LogRecord> {
    for (const [k, r] of this.committed) if (k.startsWith(prefix)) yield r;
  }

  latestUnder(prefix: string): LogRecord[] {
    const out: LogRecord[] = [];
    for (const [k, r] of this.committed) if (k.startsWith(prefix)) out.push(r);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** A record becomes this replica's: visible to reads, above the indexes until indexed. */
  take(r: LogRecord, bytes: Buffer): void {
    if (!this.committed.has(r.key)) this.sortedKeys = undefined;
    this.committed.set(r.key, r);
    this.committedRev = r.revision;
    // meta/indexed may come in the same watch answer before the records it covers: those are
    // indexed already, and compaction may remove them from etcd, so they never join the tail.
    if (r.revision > this.indexedRev) this.tail.push({ record: r, bytes });
  }

  markIndexed(rev: number): void {
    if (rev <= this.indexedRev) return;
    this.indexedRev = rev;
    let drop = 0;
    while (drop < this.tail.length && this.tail[drop]!.record.revision <= rev) drop++;
    if (drop > 0) this.tail = this.tail.slice(drop);
  }

  /** The newest record above meta/indexed that matches. */
  fromTail(match: (r: LogRecord) => boolean): LogRecord | undefined {
    for (let i = this.tail.length - 1; i >= 0; i--) {
      const r = this.tail[i]!.record;
      if (r.revision <= this.committedRev && match(r)) return r;
    }
    return undefined;
  }

  keysInByteOrder(): { key: string; bytes: Buffer }[] {
    this.sortedKeys ??= [...this.committed.keys()].map((key) => ({ key, bytes: Buffer.from(key, "utf8") })).sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    return this.sortedKeys;
  }
}
