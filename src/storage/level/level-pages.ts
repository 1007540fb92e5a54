import { jsonByteLength, type JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import type { StoredBytes } from "../log-store.js";
import { readU64, u64 } from "./codec.js";
import type { Sublevel } from "./layout.js";
import { decodeRecord } from "./record-bytes.js";
import type { HeadRecords } from "./head-records.js";
import type { RevisionIndex } from "./revision-index.js";
import { PastPages } from "./past-pages.js";
import { PastReaderGone, type PastReader } from "./past-reader.js";


/** What pages are read from, and the store's rules they keep. */
export interface PageSource {
  readonly log: Sublevel;
  readonly keyIdx: Sublevel;
  readonly headIdx: Sublevel;
  /** Every key's durable head record. */
  readonly committed: HeadRecords;
  /** The revision index once built; until then pages scan the indexes on disk. */
  revIndex(): RevisionIndex | undefined;
  /** The thread that reads past pages' records, when the store has one. */
  pastReader(): PastReader | undefined;
  /** Counts a page read on that thread. */
  threadedPage(): void;
  committedRev(): number;
  /** Throws OUT_OF_RANGE once a compaction has taken `revision`: a page is refused, never answered short. */
  stillServed(revision: number): void;
  /** What a failed read answers: UNAVAILABLE while closing, else the store's damage. */
  readFailure(e: unknown): unknown;
}

/**
 * Snapshot's pages from a LevelDB store: the keys under a prefix as they stood at a revision, in
 * key order, a bounded page at a time. The keys come from the revision index in memory (or,
 * until it is built, a scan of the key or head index); their records from memory when they are
 * the keys' heads, else from the log, read in batches as the scan finds them.
 */
export class LevelPages {
  private past: PastPages | undefined;

  constructor(private readonly s: PageSource) {}

  /**
   * The records of at most `limit` keys under `prefix` after `after` as they stood at `revision`,
   * in key order, until their stored bytes pass `maxBytes`; `last` when more keys follow. With
   * `stored`, a record read from the log is left as its bytes.
   */
  async page(prefix: string, revision: number, limit: number, after: string | undefined, maxBytes: number, stored: boolean): Promise<{ records: (LogRecord | StoredBytes)[]; last?: string }> {
    try {
      const rev = Math.min(revision, this.s.committedRev());
      this.s.stillServed(rev);
      const index = this.s.revIndex();
      // A page in the past reads most of its records from the log: on the reader's thread, the
      // next page read ahead. At the head every record is in memory.
      const reader = stored && index !== undefined && rev < this.s.committedRev() ? this.s.pastReader() : undefined;
      if (reader !== undefined) {
        try {
          const page = await (this.past ??= new PastPages(reader, this.s.committed, headSize)).page(index!, prefix, rev, limit, after, maxBytes);
          this.s.stillServed(rev);
          if ("missing" in page) throw new Error(`the revision index names revision ${page.missing}, which the log does not hold`);
          this.s.threadedPage();
          return page;
        } catch (e) {
          // Its thread has stopped (the store is closing, or it failed): read here, as before it.
          if (!(e instanceof PastReaderGone)) throw e;
        }
      }
      const records: (LogRecord | StoredBytes)[] = [];
      let bytes = 0;
      let items: Found[] = [];
      // Records are read as the scan finds them, a batch at a time, so a page that its byte
      // budget ends early reads at most one batch more than it sends; the next batch is read
      // while this one is decoded. A batch of heads alone reads nothing and still lets the
      // event loop turn: the answer before this page may still be being written, and its
      // client waits for every byte of it.
      const fetch = (group: Found[]): { group: Found[]; values: Promise<(Buffer | undefined)[]> } => {
        const revs: Buffer[] = [];
        for (const x of group) if (!isHead(x)) revs.push(Buffer.isBuffer(x) ? x : x.rev);
        return { group, values: revs.length === 0 ? new Promise((resolve) => setImmediate(resolve, [])) : this.s.log.getMany(revs) };
      };
      const read = async (): Promise<boolean> => {
        const all = items;
        items = [];
        let at = Math.min(PAGE_READ_BATCH, all.length);
        let next = fetch(all.slice(0, at));
        while (next.group.length > 0) {
          const current = next;
          next = fetch(all.slice(at, (at += PAGE_READ_BATCH)));
          // A read ahead that is never awaited must not fail unheard.
          next.values.catch(() => undefined);
          const values = await current.values;
          let v = 0;
          for (const item of current.group) {
            let r: LogRecord | StoredBytes;
            if (isHead(item)) {
              r = item;
              bytes += headSize(r);
            } else {
              const revBytes = Buffer.isBuffer(item) ? item : item.rev;
              const bytesRead = values[v++];
              // The index names a record the log does not hold: damage, never a shorter answer,
              // unless a compaction took it since the page began.
              if (bytesRead === undefined) this.s.stillServed(rev);
              if (bytesRead === undefined) throw new Error(`the key index names revision ${readU64(revBytes)}, which the log does not hold`);
              bytes += bytesRead.length;
              // A scan of the key index does not carry keys: its records are decoded, as before the revision index.
              r = stored && !Buffer.isBuffer(item) ? { key: item.key, revision: readU64(revBytes), stored: bytesRead } : decodeRecord(bytesRead);
            }
            if (bytes > maxBytes && records.length > 0) return false;
            records.push(r);
          }
        }
        return true;
      };
      // Until the revision index is built: at the head, one entry per key says where each key
      // is; in the past, the key index does.
      const scan = index
        ? this.scanIndex(index, prefix, rev, limit, after)
        : rev === this.s.committedRev()
          ? this.scanHeads(prefix, rev, limit, after)
          : this.scanAt(prefix, rev, limit, after);
      let full = false;
      for await (const found of scan) {
        if ("last" in found) {
          if ((full = !(await read()))) break;
          this.s.stillServed(rev);
          return { records, last: found.last };
        }
        for (const r of found.items) items.push(r);
        if (items.length >= PAGE_READ_BATCH && (full = !(await read()))) break;
      }
      if (!full && (await read())) {
        this.s.stillServed(rev);
        return { records };
      }
      this.s.stillServed(rev);
      // The page ends before the record that passed the budget; the next one starts after the
      // last record sent (keys without a record at `revision` in between are looked at again).
      return { records, last: records[records.length - 1]!.key };
    } catch (e) {
      throw this.s.readFailure(e);
    }
  }

  /**
   * What `key`'s newest revision at or below `rev` names: its record in memory when that is
   * the key's durable head (no read, no decode), else the revision to read.
   */
  private found(key: string, revBytes: Buffer): Found {
    const head = this.s.committed.get(key);
    return head !== undefined && head.revision === readU64(revBytes) ? head : revBytes;
  }

  /** scanAt from the revision index: no read until the records themselves. */
  private async *scanIndex(index: RevisionIndex, prefix: string, rev: number, limit: number, after: string | undefined): AsyncGenerator<{ items: Found[] } | { last: string }> {
    for (const found of index.pageAt(prefix, rev, limit, after)) {
      if ("last" in found) yield found;
      else {
        const out: Found[] = [];
        for (const [key, revision, newest] of found.items) {
          // A key's older revision is never its head: no lookup in the map of every key (a
          // past listing made one per key). Its newest may not be durable yet, so the head is
          // still compared.
          const head = newest ? this.s.committed.get(key) : undefined;
          out.push(head !== undefined && head.revision === revision ? head : { rev: u64(revision), key });
        }
        yield { items: out };
      }
    }
  }

  /**
   * scanAt for the head revision: one forward scan of the head index, one entry per key, in
   * key order, whatever the keys' histories. A key whose head moved past `rev` since (a commit
   * landed meanwhile) is looked up in the key index.
   */
  private async *scanHeads(prefix: string, rev: number, limit: number, after: string | undefined): AsyncGenerator<{ items: Found[] } | { last: string }> {
    const p = Buffer.from(prefix, "utf8");
    const end = prefixEnd(p);
    const it = this.s.headIdx.iterator({ ...(after === undefined ? { gte: p } : { gt: Buffer.from(after, "utf8") }), ...(end ? { lt: end } : {}) });
    let keys = 0;
    let last: string | undefined;
    try {
      for (;;) {
        const batch = await it.nextv(PAGE_SCAN_BATCH);
        if (batch.length === 0) break;
        const out: Found[] = [];
        for (const [k, v] of batch) {
          if (keys === limit) {
            if (out.length > 0) yield { items: out };
            yield { last: last! };
            return;
          }
          keys++;
          const key = k.toString("utf8");
          last = key;
          if (readU64(v) <= rev) out.push(this.found(key, v));
          else {
            const older = await this.newestAtOrBelow(k, rev);
            if (older !== undefined) out.push(this.found(key, older));
          }
        }
        if (out.length > 0) yield { items: out };
      }
    } finally {
      await it.close();
    }
  }

  /**
   * The revisions (8 bytes each) of each key's newest index entry at or below `rev` (or the
   * record itself when it is the key's head, see found()), for at most `limit` keys under
   * `prefix` after `after`, then `{ last }` when more keys follow. One forward scan of the key
   * index in batches: a key's entries are `<key>\0<revision>`, in order, so its answer is the
   * last entry seen before its revisions pass `rev`. A key with a long history is looked up on
   * its own and sought past, so the scan costs about the keys, not their versions.
   */
  private async *scanAt(prefix: string, rev: number, limit: number, after: string | undefined): AsyncGenerator<{ items: Found[] } | { last: string }> {
    const p = Buffer.from(prefix, "utf8");
    const end = prefixEnd(p);
    const from = after === undefined ? p : Buffer.concat([Buffer.from(after, "utf8"), ONE_BYTE]);
    const it = this.s.keyIdx.keys({ gte: from, ...(end ? { lt: end } : {}) });
    let current: Buffer | undefined;
    let best: Buffer | undefined;
    let run = 0;
    let keys = 0;
    try {
      for (;;) {
        const batch = await it.nextv(PAGE_SCAN_BATCH);
        if (batch.length === 0) break;
        const out: Found[] = [];
        let more = false;
        for (const k of batch) {
          const keyLength = k.length - 9;
          if (current === undefined || keyLength !== current.length || k.compare(current, 0, keyLength, 0, keyLength) !== 0) {
            if (best !== undefined) out.push(this.found(current!.toString("utf8"), best));
            best = undefined;
            if (keys === limit) {
              more = true;
              break;
            }
            current = Buffer.from(k.subarray(0, keyLength));
            run = 0;
            keys++;
          }
          // Past `rev`, nothing later of this key matters: a few entries are read past, many are sought past.
          if (run < 0 || readU64(k, keyLength + 1) > rev) {
            run = run < 0 ? run - 1 : -1;
            if (run > -LONG_RUN) continue;
            it.seek(Buffer.concat([current, ONE_BYTE]));
            break;
          }
          best = k.subarray(keyLength + 1);
          if (++run === LONG_RUN) {
            best = (await this.newestAtOrBelow(current, rev)) ?? best;
            run = -1;
            it.seek(Buffer.concat([current, ONE_BYTE]));
            break;
          }
        }
        if (out.length > 0) yield { items: out };
        if (more) {
          yield { last: current!.toString("utf8") };
          return;
        }
      }
      if (best !== undefined) yield { items: [this.found(current!.toString("utf8"), best)] };
    } finally {
      await it.close();
    }
  }

  /** The revision (8 bytes) of `key`'s newest index entry at or below `rev`. */
  private async newestAtOrBelow(key: Buffer, rev: number): Promise<Buffer | undefined> {
    for await (const k of this.s.keyIdx.keys({ gte: Buffer.concat([key, ZERO_BYTE]), lte: Buffer.concat([key, ZERO_BYTE, u64(rev)]), reverse: true, limit: 1 })) {
      return Buffer.from(k.subarray(k.length - 8));
    }
    return undefined;
  }

}

/** A key's record as a scan finds it: its head in memory, or the revision (8 bytes) to read from the log, with the key when the scan knows it. */
type Found = LogRecord | Buffer | { rev: Buffer; key: string };
const isHead = (x: Found): x is LogRecord => !Buffer.isBuffer(x) && !("rev" in x);

/** About what a record takes in the log, for a page's byte budget when it comes from memory. */
const storedSize = (r: LogRecord): number =>
  64 + r.key.length + r.author.length + r.message.length + (r.value === undefined ? 0 : jsonByteLength(r.value)) + (r.rollout ? jsonByteLength(r.rollout as unknown as JsonValue) : 0);

/**
 * storedSize of a key's head record, kept once measured: records never change, a head is paged
 * again by every Snapshot that covers it, and measuring means writing its value out as JSON.
 */
const headSizes = new WeakMap<LogRecord, number>();
const headSize = (r: LogRecord): number => {
  let n = headSizes.get(r);
  if (n === undefined) headSizes.set(r, (n = storedSize(r)));
  return n;
};

const ZERO_BYTE = Buffer.from([0]);
const ONE_BYTE = Buffer.from([1]);
/** Index entries read per step of a scan. */
const PAGE_SCAN_BATCH = 1024;
/** Entries of one key a scan of the key index reads before it looks that key up and seeks past it. */
const LONG_RUN = 64;
/** Records read from the log per step. */
const PAGE_READ_BATCH = 256;

/** The least byte string above every string that starts with `p`; none when `p` is empty or all 0xff. */
function prefixEnd(p: Buffer): Buffer | undefined {
  for (let i = p.length - 1; i >= 0; i--) {
    if (p[i]! < 0xff) {
      const end = Buffer.from(p.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return undefined;
}
