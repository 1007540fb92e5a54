import { randomInt } from "node:crypto";
import { Encoder } from "cbor-x";
import { Level } from "level";
import type { AccessQuery, AccessLogStore, AccessRecord } from "../access-log-store.js";
import { u64 } from "./codec.js";

type Bytes = Buffer;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });
const P = { time: Buffer.from("t!"), req: Buffer.from("r!"), unit: Buffer.from("u!"), key: Buffer.from("k!") };
const ZERO = Buffer.from([0]);
const HIGH = Buffer.from([0xff]);

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

  constructor(location: string) {
    this.db = new Level<Bytes, Bytes>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
  }

  open(): Promise<void> {
    return this.db.open();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async append(records: readonly AccessRecord[]): Promise<void> {
    const batch = this.db.batch();
    for (const r of records) {
      const stamp = Buffer.concat([u64(r.time), u64(this.seq++ % 2 ** 53)]);
      const tkey = Buffer.concat([P.time, stamp]);
      batch.put(tkey, cbor.encode(r));
      if (r.requestId) batch.put(indexKey(P.req, r.requestId, stamp), tkey);
      if (r.unitId) batch.put(indexKey(P.unit, r.unitId, stamp), tkey);
      batch.put(indexKey(P.key, r.key, stamp), tkey);
    }
    await batch.write();
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

  async approximateBytes(): Promise<number> {
    return (this.db as unknown as { approximateSize(a: Bytes, b: Bytes): Promise<number> }).approximateSize(Buffer.alloc(0), HIGH);
  }

  private async prune(range: { gte: Bytes; lt: Bytes; limit: number }): Promise<number> {
    const batch = this.db.batch();
    let n = 0;
    for await (const [k, v] of this.db.iterator(range)) {
      const r = decode(v);
      const stamp = k.subarray(P.time.length);
      batch.del(k);
      if (r.requestId) batch.del(indexKey(P.req, r.requestId, stamp));
      if (r.unitId) batch.del(indexKey(P.unit, r.unitId, stamp));
      batch.del(indexKey(P.key, r.key, stamp));
      n++;
    }
    await batch.write();
    return n;
  }
}

const indexKey = (prefix: Bytes, value: string, stamp: Bytes): Bytes => Buffer.concat([prefix, Buffer.from(value, "utf8"), ZERO, stamp]);
const decode = (b: Uint8Array): AccessRecord => cbor.decode(b) as AccessRecord;

function matches(r: AccessRecord, q: AccessQuery): boolean {
  return (!q.requestId || r.requestId === q.requestId) && (!q.unitId || r.unitId === q.unitId) && (!q.key || r.key === q.key) && (q.from === undefined || r.time >= q.from) && (q.to === undefined || r.time <= q.to);
}
