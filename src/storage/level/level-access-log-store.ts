import { randomInt } from "node:crypto";
import { Encoder } from "cbor-x";
import { Level } from "level";
import { readAccessBatch, type AccessBatch } from "../access-batch.js";
import type { AccessQuery, AccessLogStore, AccessRecord } from "../access-log-store.js";
import { putU64, u64 } from "./codec.js";

type Bytes = Buffer;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });
const P = { time: Buffer.from("t!"), req: Buffer.from("r!"), unit: Buffer.from("u!"), key: Buffer.from("k!") };
const ZERO = Buffer.from([0]);
const HIGH = Buffer.from([0xff]);
/** A record's stamp: its time (ms) and a sequence number, u64 each. */
const STAMP = 16;

/**
 * LevelDB layout (one database beside the log, never synced):
 *   t!<ms><seq>            -> CBOR record
 *   r!<request>\0<ms><seq> -> time key    u!<unit>\0...    k!<key>\0...
 * The ms+seq suffix orders entries by time; a query walks the most selective
 * index backwards.
 */
export class LevelAccessLogStore implements AccessLogStore {
  private readonly db: Level<Bytes, Bytes>;
  // A random start keeps keys unique across restarts within the same millisecond.
  private seq = randomInt(0, 2 ** 31);
  /**
   * Bytes of live entries (keys + values), counted once by a scan and then kept
   * up to date by append and prune. LevelDB's approximateSize cannot be used for
   * retention: it ignores the memtable (a few MB of recent writes read as 0 bytes)
   * and deleted entries keep counting until a compaction, so a retention pass
   * would first trim nothing and then everything.
   */
  private live: number | undefined;
  /** While the scan runs: changes it cannot see (its snapshot predates them). */
  private pending: number | undefined;

  constructor(location: string) {
    this.db = new Level<Bytes, Bytes>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
  }

  open(): Promise<void> {
    return this.db.open();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async append(batch: AccessBatch): Promise<void> {
    const ops = this.db.batch();
    let bytes = 0;
    for (const r of readAccessBatch(batch)) {
      const tkey = Buffer.allocUnsafe(P.time.length + STAMP);
      P.time.copy(tkey, 0);
      putU64(tkey, P.time.length, r.time);
      putU64(tkey, P.time.length + 8, this.seq++ % 2 ** 53);
      const stamp = tkey.subarray(P.time.length);
      const value = cbor.encode(r);
      ops.put(tkey, value);
      bytes += tkey.length + value.length;
      for (const ik of indexKeys(r, stamp)) {
        ops.put(ik, tkey);
        bytes += ik.length + tkey.length;
      }
    }
    await ops.write();
    this.adjust(bytes);
  }

  async query(q: AccessQuery): Promise<{ records: AccessRecord[]; next?: Buffer }> {
    const [prefix, value] = q.requestId ? [P.req, q.requestId] : q.unitId ? [P.unit, q.unitId] : q.key ? [P.key, q.key] : [P.time, undefined];
    const head = value === undefined ? prefix : Buffer.concat([prefix, Buffer.from(value, "utf8"), ZERO]);
    const lower = Buffer.concat([head, u64(q.from ?? 0)]);
    let upper: Buffer = Buffer.concat([head, u64(Math.min(q.to ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1) + 1)]);
    if (q.before && Buffer.compare(q.before, upper) < 0) upper = q.before;
    const out: AccessRecord[] = [];
    let last: Buffer | undefined;
    // Filters other than the index's own may skip entries: read in pages until the limit is met.
    for await (const [k, v] of this.db.iterator({ gte: lower, lt: upper, reverse: true })) {
      last = k;
      const rec = prefix === P.time ? decode(v) : await this.db.get(v).then((b) => (b === undefined ? undefined : decode(b)));
      if (rec && matches(rec, q)) out.push(rec);
      if (out.length >= q.limit) break;
    }
    return { records: out, next: out.length >= q.limit ? last : undefined };
  }

  async pruneOlderThan(before: number, max: number): Promise<number> {
    return this.prune({ gte: P.time, lt: Buffer.concat([P.time, u64(before)]), limit: max });
  }

  async pruneOldest(count: number): Promise<number> {
    return this.prune({ gte: P.time, lt: Buffer.concat([P.time, HIGH]), limit: count });
  }

  /** Bytes of the live records and their index entries (keys + values, before compression). */
  async approximateBytes(): Promise<number> {
    if (this.live !== undefined) return this.live;
    this.pending = 0;
    let n = 0;
    try {
      // The iterator reads a snapshot taken now; later appends and prunes go to `pending`.
      for await (const [k, v] of this.db.iterator()) n += k.length + v.length;
      this.live = n + this.pending;
    } finally {
      this.pending = undefined;
    }
    return this.live;
  }

  private adjust(bytes: number): void {
    if (this.live !== undefined) this.live += bytes;
    else if (this.pending !== undefined) this.pending += bytes;
  }

  private async prune(range: { gte: Bytes; lt: Bytes; limit: number }): Promise<number> {
    const batch = this.db.batch();
    let n = 0;
    let bytes = 0;
    for await (const [k, v] of this.db.iterator(range)) {
      const r = decode(v);
      const stamp = k.subarray(P.time.length);
      batch.del(k);
      bytes += k.length + v.length;
      for (const ik of indexKeys(r, stamp)) {
        batch.del(ik);
        bytes += ik.length + k.length;
      }
      n++;
    }
    await batch.write();
    this.adjust(-bytes);
    return n;
  }
}

/** prefix, value (UTF-8), 0, stamp: built in one buffer, as this runs four times per record written. */
function indexKey(prefix: Bytes, value: string, stamp: Bytes): Bytes {
  const n = Buffer.byteLength(value, "utf8");
  const k = Buffer.allocUnsafe(prefix.length + n + 1 + stamp.length);
  prefix.copy(k, 0);
  k.write(value, prefix.length, "utf8");
  k[prefix.length + n] = 0;
  stamp.copy(k, prefix.length + n + 1);
  return k;
}

/** The index entries of a record (each maps to the record's time key). */
function indexKeys(r: AccessRecord, stamp: Bytes): Bytes[] {
  const out = [indexKey(P.key, r.key, stamp)];
  if (r.requestId) out.push(indexKey(P.req, r.requestId, stamp));
  if (r.unitId) out.push(indexKey(P.unit, r.unitId, stamp));
  return out;
}
const decode = (b: Uint8Array): AccessRecord => cbor.decode(b) as AccessRecord;

function matches(r: AccessRecord, q: AccessQuery): boolean {
  return (!q.requestId || r.requestId === q.requestId) && (!q.unitId || r.unitId === q.unitId) && (!q.key || r.key === q.key) && (q.from === undefined || r.time >= q.from) && (q.to === undefined || r.time <= q.to);
}
