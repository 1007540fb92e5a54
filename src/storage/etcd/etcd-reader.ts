import type { LogRecord } from "@ctm/core/record";
import { RangeRequest_SortOrder as Sort, type RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import { readU64 } from "../level/codec.js";
import { decodeLogValue } from "../level/record-bytes.js";
import type { AppliedLog } from "./applied-log.js";
import type { EtcdClient } from "./etcd-client.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { rangeOf, readOp } from "./etcd-ops.js";
import type { ServedHorizon } from "./served-horizon.js";
import { storedSize } from "./stored-size.js";
import { DEFAULT_TXN_OPS } from "./txn-limits.js";

/** Ranges per read transaction: one more reads meta/horizon, within etcd's 128 operations. */
const READS_PER_TXN = DEFAULT_TXN_OPS - 2;

/**
 * The etcd store's reads of the past: the records above meta/indexed from the applied log in
 * memory, the rest through etcd's indexes, never at a revision above what this replica applied.
 */
export class EtcdReader {
  constructor(
    private readonly client: () => EtcdClient,
    private readonly layout: EtcdLayout,
    private readonly horizon: ServedHorizon,
    private readonly log: AppliedLog,
  ) {}

  async pageAt(prefix: string, revision: number, limit: number, after?: string, maxBytes = Infinity): Promise<{ records: LogRecord[]; last?: string }> {
    const rev = Math.min(revision, this.log.committedRev);
    this.horizon.check(rev);
    const keys = this.log.keysInByteOrder();
    const start = Buffer.from(after ?? prefix, "utf8");
    let i = lowerBound(keys, start);
    if (after !== undefined && i < keys.length && keys[i]!.key === after) i++;
    const looked: string[] = [];
    for (; i < keys.length && looked.length < limit && keys[i]!.key.startsWith(prefix); i++) looked.push(keys[i]!.key);
    const more = i < keys.length && keys[i]!.key.startsWith(prefix);
    const past = await this.atMany(looked.filter((k) => this.log.committed.get(k)!.revision > rev), rev);
    this.horizon.check(rev);
    const found = looked.map((k) => {
      const latest = this.log.committed.get(k)!;
      return latest.revision <= rev ? latest : past.get(k);
    });
    const records: LogRecord[] = [];
    let bytes = 0;
    for (let j = 0; j < looked.length; j++) {
      const r = found[j];
      if (!r) continue;
      const size = storedSize(r);
      if (records.length > 0 && bytes + size > maxBytes) return { records, last: records[records.length - 1]!.key };
      bytes += size;
      records.push(r);
    }
    return more && looked.length > 0 ? { records, last: looked[looked.length - 1]! } : { records };
  }

  async at(key: string, revision: number): Promise<LogRecord | undefined> {
    const rev = Math.min(revision, this.log.committedRev);
    this.horizon.check(rev);
    const inTail = this.log.fromTail((r) => r.key === key && r.revision <= rev);
    if (inTail) return inTail;
    const idx = await this.horizon.range({ key: this.layout.keyRev(key, 0), rangeEnd: this.layout.keyRev(key, rev + 1), sortOrder: Sort.DESCEND, limit: 1n, keysOnly: true });
    const k = idx.kvs[0];
    const r = k ? await this.readLog(readU64(k.key, k.key.length - 8)) : undefined;
    this.horizon.check(rev);
    return r;
  }

  /**
   * at() for many keys at one revision, in a few round trips rather than two per key: the
   * records above meta/indexed from memory, then one Range per key index in transactions of 127,
   * then the records by revision.
   */
  private async atMany(keys: readonly string[], rev: number): Promise<Map<string, LogRecord | undefined>> {
    const out = new Map<string, LogRecord | undefined>();
    const want = new Set(keys);
    for (const e of this.log.tail) if (want.has(e.record.key) && e.record.revision <= rev) out.set(e.record.key, e.record);
    const rest = keys.filter((k) => !out.has(k));
    const revs: number[] = [];
    for (let i = 0; i < rest.length; i += READS_PER_TXN) {
      const chunk = rest.slice(i, i + READS_PER_TXN);
      const ops: RequestOp[] = chunk.map((k) => ({
        request: { $case: "requestRange", value: { ...rangeOf(this.layout.keyRev(k, 0)), rangeEnd: this.layout.keyRev(k, rev + 1), sortOrder: Sort.DESCEND, limit: 1n, keysOnly: true } },
      }));
      const res = await this.horizon.read(ops);
      for (const op of res) {
        const kv = op.response?.$case === "responseRange" ? op.response.value.kvs[0] : undefined;
        if (kv) revs.push(readU64(kv.key, kv.key.length - 8));
      }
    }
    for (const r of await this.readMany(revs)) out.set(r.key, r);
    return out;
  }

  async version(key: string, version: number): Promise<LogRecord | undefined> {
    const inTail = this.log.fromTail((r) => r.key === key && r.version === version);
    if (inTail) return inTail;
    // The nearest version at or below with an iv/ entry, then the key's ik/ entries from there.
    // Compaction removes a version's iv/ entry with it: then the key's oldest ik/ entry is where to start.
    const L = this.layout;
    const near = (await this.client().range({ key: L.keyVersion(key, 0), rangeEnd: L.keyVersion(key, version + 1), sortOrder: Sort.DESCEND, limit: 1n })).kvs[0];
    const oldest = near ? undefined : (await this.client().range({ key: L.keyRev(key, 0), rangeEnd: L.keyRev(key, this.log.committedRev + 1), limit: 1n })).kvs[0];
    if (!near && (!oldest || readU64(oldest.value) > version)) return undefined;
    let rev = near ? readU64(near.value) : readU64(oldest!.key, oldest!.key.length - 8);
    const from = near ? readU64(near.key, near.key.length - 8) : readU64(oldest!.value);
    if (from !== version) {
      const idx = await this.client().range({ key: L.keyRev(key, rev), rangeEnd: L.keyRev(key, this.log.committedRev + 1), limit: BigInt(version - from + 1) });
      const hit = idx.kvs.find((kv) => readU64(kv.value) === version);
      if (!hit) return undefined;
      rev = readU64(hit.key, hit.key.length - 8);
    }
    return rev > this.log.committedRev ? undefined : this.readLog(rev);
  }

  async history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    const upper = Math.min(beforeRevision === undefined ? Number.MAX_SAFE_INTEGER : beforeRevision - 1, this.log.committedRev);
    const out = this.log.tail.filter((e) => e.record.key === key && e.record.revision <= upper).map((e) => e.record).reverse().slice(0, limit);
    if (out.length >= limit) return out;
    const below = out.length > 0 ? out[out.length - 1]!.revision - 1 : upper;
    if (below < 1) return out;
    const idx = await this.client().range({ key: this.layout.keyRev(key, 0), rangeEnd: this.layout.keyRev(key, below + 1), sortOrder: Sort.DESCEND, limit: BigInt(limit - out.length), keysOnly: true });
    const older = await this.readMany(idx.kvs.map((k) => readU64(k.key, k.key.length - 8)));
    return [...out, ...older.filter((r) => r.revision <= below)];
  }

  async revisionAt(time: number): Promise<number> {
    if (!(time >= 0)) return 0;
    const ms = Math.floor(time);
    const inTail = this.log.fromTail((r) => r.time <= ms);
    if (inTail) return inTail.revision;
    const idx = await this.client().range({ key: this.layout.timeFloor(), rangeEnd: this.layout.timeRev(Math.min(ms + 1, Number.MAX_SAFE_INTEGER), 0), sortOrder: Sort.DESCEND, limit: 1n, keysOnly: true });
    const k = idx.kvs[0];
    return k ? Math.min(readU64(k.key, k.key.length - 8), this.log.committedRev) : 0;
  }

  async range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    const upper = Math.min(to, this.log.committedRev);
    if (from > upper || limit <= 0) return [];
    // A run of revisions with a gap is never an answer, for one key either (a Watch catching up).
    this.horizon.check(from);
    if (key === undefined) {
      const r = await this.horizon.range({ key: this.layout.log(from), rangeEnd: this.layout.log(upper + 1), limit: BigInt(limit) });
      this.horizon.check(from);
      return r.kvs.map((kv) => decodeLogValue(kv.value).record);
    }
    // The tail first: the indexer may move its records into the index while etcd answers.
    const tail = this.log.tail.map((e) => e.record).filter((r) => r.key === key && r.revision >= from && r.revision <= upper);
    const idx = await this.horizon.range({ key: this.layout.keyRev(key, from), rangeEnd: this.layout.keyRev(key, upper + 1), limit: BigInt(limit), keysOnly: true });
    const indexed = await this.readMany(idx.kvs.map((k) => readU64(k.key, k.key.length - 8)));
    this.horizon.check(from);
    const seen = new Set(indexed.map((r) => r.revision));
    const fromTail = tail.filter((r) => !seen.has(r.revision));
    return [...indexed, ...fromTail].sort((a, b) => a.revision - b.revision).slice(0, limit);
  }

  private async readLog(rev: number): Promise<LogRecord | undefined> {
    const r = await this.horizon.range({ key: this.layout.log(rev) });
    return r.kvs[0] ? decodeLogValue(r.kvs[0].value).record : undefined;
  }

  /** Several records by revision, in the order asked, READS_PER_TXN Range operations per transaction. */
  private async readMany(revs: number[]): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    for (let i = 0; i < revs.length; i += READS_PER_TXN) {
      const ops: RequestOp[] = revs.slice(i, i + READS_PER_TXN).map((rev) => readOp(this.layout.log(rev)));
      const res = await this.horizon.read(ops);
      for (const op of res) {
        const kv = op.response?.$case === "responseRange" ? op.response.value.kvs[0] : undefined;
        if (kv) out.push(decodeLogValue(kv.value).record);
      }
    }
    return out;
  }
}

function lowerBound(keys: { bytes: Buffer }[], at: Buffer): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(keys[mid]!.bytes, at) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
