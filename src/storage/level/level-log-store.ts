import type { AbstractSublevel } from "abstract-level";
import { Level } from "level";
import type { Clock } from "../../domain/clock.js";
import { CtmError, unavailable } from "../../domain/errors.js";
import type { Draft, KeyHead, LogRecord } from "../../domain/record.js";
import type { CommitListener, LogStore, StoreStats, WriteView } from "../log-store.js";
import { decodeRecord, encodeRecord, keyNum, MAX_U64, readU64, timeRev, u64 } from "./codec.js";

const SCHEMA_VERSION = 1;

type Bytes = Buffer;
type Sub = AbstractSublevel<Level<Bytes, Bytes>, string | Buffer | Uint8Array, Bytes, Bytes>;
/** A put on the root database with the sublevel's prefix already applied. */
type BatchOp = { type: "put"; key: Bytes; value: Bytes };

interface Pending {
  ops: BatchOp[];
  records: LogRecord[];
  resolve: (records: LogRecord[]) => void;
  reject: (e: unknown) => void;
}

/**
 * The LevelDB log. Layout (sublevels, big-endian numbers):
 *   log!<rev>            -> CBOR record, the source of truth, never rewritten
 *   key!<key>\0<rev>     -> version   (history, value at a revision: one seek)
 *   ver!<key>\0<version> -> rev       (a version by number)
 *   time!<ms><rev>       -> empty     (time travel: time -> revision)
 *   head!<key>           -> rev       (startup reads this, never the log)
 *   meta!schema|head     -> number
 * A record and all its index entries go into one atomic batch.
 */
export class LevelLogStore implements LogStore {
  private readonly db: Level<Bytes, Bytes>;
  private readonly log: Sub;
  private readonly keyIdx: Sub;
  private readonly verIdx: Sub;
  private readonly timeIdx: Sub;
  private readonly headIdx: Sub;
  private readonly meta: Sub;
  private readonly put: Record<"log" | "key" | "ver" | "time" | "head" | "meta", (key: Bytes) => Bytes>;

  /** Durable, visible state: what readers see. */
  private readonly committed = new Map<string, LogRecord>();
  /** Writer state: committed plus in-flight, for versions and compare-and-set. */
  private readonly writer = new Map<string, KeyHead>();
  private committedRev = 0;
  private nextRev = 1;
  private lastTime = 0;
  private queue: Pending[] = [];
  private flushing = false;
  private failure: Error | undefined;
  private isOpen = false;
  private readonly listeners = new Set<CommitListener>();
  private counters = { openLogReads: 0, batches: 0, records: 0 };

  constructor(
    readonly location: string,
    private readonly clock: Clock,
  ) {
    this.db = new Level<Bytes, Bytes>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
    const sub = (name: string): Sub => this.db.sublevel<Bytes, Bytes>(name, { keyEncoding: "buffer", valueEncoding: "buffer" });
    // Writes skip the sublevel machinery (a measurable share of Set's CPU) and put
    // prefixed keys on the root: the same bytes a sublevel would write.
    const prefix = (name: string) => {
      const p = Buffer.from(`!${name}!`, "latin1");
      return (key: Bytes): Bytes => Buffer.concat([p, key]);
    };
    this.put = { log: prefix("log"), key: prefix("key"), ver: prefix("ver"), time: prefix("time"), head: prefix("head"), meta: prefix("meta") };
    this.log = sub("log");
    this.keyIdx = sub("key");
    this.verIdx = sub("ver");
    this.timeIdx = sub("time");
    this.headIdx = sub("head");
    this.meta = sub("meta");
  }

  get headRevision(): number {
    return this.committedRev;
  }
  get firstRevision(): number {
    return 1;
  }
  get healthy(): boolean {
    return this.isOpen && this.failure === undefined;
  }
  get stats(): StoreStats {
    return { ...this.counters };
  }

  async open(): Promise<void> {
    await this.db.open();
    const schema = await this.meta.get(Buffer.from("schema"));
    if (schema === undefined) {
      await this.db.batch([{ type: "put", key: this.put.meta(Buffer.from("schema")), value: u64(SCHEMA_VERSION) }], { sync: true });
    } else if (readU64(schema) !== SCHEMA_VERSION) {
      await this.db.close();
      throw new CtmError("internal", `data directory has schema ${readU64(schema)}; this ctmd reads ${SCHEMA_VERSION}`);
    }
    const head = await this.meta.get(Buffer.from("head"));
    this.committedRev = head === undefined ? 0 : readU64(head);
    this.nextRev = this.committedRev + 1;

    // O(keys): one head entry per key, then one multi-get of those records.
    const revs: Buffer[] = [];
    for await (const value of this.headIdx.values()) revs.push(value);
    const raw = revs.length > 0 ? await this.log.getMany(revs) : [];
    this.counters.openLogReads = raw.length;
    for (const bytes of raw) {
      if (bytes === undefined) throw new CtmError("internal", "head index points at a missing log record");
      const r = decodeRecord(bytes);
      this.committed.set(r.key, r);
      this.writer.set(r.key, r);
      if (r.time > this.lastTime) this.lastTime = r.time;
    }
    this.isOpen = true;
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    // Let in-flight batches finish so every acknowledged write is durable.
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.db.close();
  }

  commit(prepare: (view: WriteView) => readonly Draft[]): Promise<LogRecord[]> {
    if (this.failure) return Promise.reject(unavailable(`store failed: ${this.failure.message}`));
    if (!this.isOpen) return Promise.reject(unavailable("store is closed"));
    let drafts: readonly Draft[];
    try {
      drafts = prepare(this.view);
    } catch (e) {
      // Nothing was written; report it the way a promise-returning API should.
      return Promise.reject(e);
    }
    if (drafts.length === 0) return Promise.resolve([]);

    // Whole milliseconds: the time index is keyed by integer ms.
    const now = Math.max(this.lastTime, Math.floor(this.clock.now()));
    this.lastTime = now;
    const records: LogRecord[] = [];
    const ops: BatchOp[] = [];
    for (const d of drafts) {
      const version = (this.writer.get(d.key)?.version ?? 0) + 1;
      const r: LogRecord = { ...stripUndefined(d), revision: this.nextRev++, version, time: now };
      this.writer.set(r.key, { version, revision: r.revision, deleted: r.deleted });
      records.push(r);
      const rev = u64(r.revision);
      const put = this.put;
      ops.push(
        { type: "put", key: put.log(rev), value: encodeRecord(r) },
        { type: "put", key: put.key(keyNum(r.key, r.revision)), value: u64(version) },
        { type: "put", key: put.ver(keyNum(r.key, version)), value: rev },
        { type: "put", key: put.time(timeRev(now, r.revision)), value: EMPTY },
        { type: "put", key: put.head(Buffer.from(r.key, "utf8")), value: rev },
      );
    }
    return new Promise<LogRecord[]>((resolve, reject) => {
      this.queue.push({ ops, records, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Group commit: everything queued while a batch syncs goes into the next batch. */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      const last = group[group.length - 1]!.records;
      const ops: BatchOp[] = group.flatMap((p) => p.ops);
      ops.push({ type: "put", key: this.put.meta(Buffer.from("head")), value: u64(last[last.length - 1]!.revision) });
      try {
        const batch = this.db.batch();
        for (const op of ops) batch.put(op.key, op.value);
        await batch.write({ sync: true });
      } catch (e) {
        // The writer's view already counted these revisions: nothing after them can be trusted.
        this.failure = e instanceof Error ? e : new Error(String(e));
        const err = unavailable(`store failed: ${this.failure.message}`);
        for (const p of [...group, ...this.queue]) p.reject(err);
        this.queue = [];
        break;
      }
      this.counters.batches++;
      for (const p of group) {
        for (const r of p.records) this.committed.set(r.key, r);
        this.committedRev = p.records[p.records.length - 1]!.revision;
        this.counters.records += p.records.length;
      }
      const all = group.flatMap((p) => p.records);
      for (const l of this.listeners) {
        // A faulty listener must not wedge the writer: the batch is durable either way.
        try {
          l(all);
        } catch (e) {
          process.emitWarning(e instanceof Error ? e : new Error(String(e)), "CommitListenerError");
        }
      }
      for (const p of group) p.resolve(p.records);
    }
    this.flushing = false;
  }

  private readonly view: WriteView = {
    head: (key) => this.writer.get(key),
    keys: (prefix) => filterPrefix(this.writer.keys(), prefix),
  };

  latest(key: string): LogRecord | undefined {
    return this.committed.get(key);
  }

  latestUnder(prefix: string): LogRecord[] {
    const out: LogRecord[] = [];
    for (const [k, r] of this.committed) if (k.startsWith(prefix)) out.push(r);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async at(key: string, revision: number): Promise<LogRecord | undefined> {
    const rev = Math.min(revision, this.committedRev);
    for await (const k of this.keyIdx.keys({ gte: keyNum(key, 0), lte: keyNum(key, rev), reverse: true, limit: 1 })) {
      return this.readLog(readU64(k, k.length - 8));
    }
    return undefined;
  }

  async version(key: string, version: number): Promise<LogRecord | undefined> {
    const rev = await this.verIdx.get(keyNum(key, version));
    if (rev === undefined || readU64(rev) > this.committedRev) return undefined;
    return this.readLog(readU64(rev));
  }

  async history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    const upper = Math.min(beforeRevision === undefined ? MAX_U64 : beforeRevision - 1, this.committedRev);
    const revs: Buffer[] = [];
    for await (const k of this.keyIdx.keys({ gte: keyNum(key, 0), lte: keyNum(key, upper), reverse: true, limit })) {
      revs.push(k.subarray(k.length - 8));
    }
    return this.readMany(revs);
  }

  async revisionAt(time: number): Promise<number> {
    // Record times are whole, non-negative ms: a fractional time finds the ms it is in.
    if (!(time >= 0)) return 0;
    const ms = Math.min(Math.floor(time), MAX_U64);
    for await (const k of this.timeIdx.keys({ lte: timeRev(ms, MAX_U64), reverse: true, limit: 1 })) {
      return Math.min(readU64(k, 8), this.committedRev);
    }
    return 0;
  }

  async range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    const upper = Math.min(to, this.committedRev);
    if (from > upper) return [];
    if (key !== undefined) {
      const revs: Buffer[] = [];
      for await (const k of this.keyIdx.keys({ gte: keyNum(key, from), lte: keyNum(key, upper), limit })) {
        revs.push(k.subarray(k.length - 8));
      }
      return this.readMany(revs);
    }
    const out: LogRecord[] = [];
    for await (const v of this.log.values({ gte: u64(from), lte: u64(upper), limit })) out.push(decodeRecord(v));
    return out;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async readLog(rev: number): Promise<LogRecord | undefined> {
    const v = await this.log.get(u64(rev));
    return v === undefined ? undefined : decodeRecord(v);
  }

  private async readMany(revs: Buffer[]): Promise<LogRecord[]> {
    if (revs.length === 0) return [];
    const values = await this.log.getMany(revs);
    return values.filter((v): v is Buffer => v !== undefined).map(decodeRecord);
  }
}

const EMPTY = Buffer.alloc(0);

function* filterPrefix(keys: Iterable<string>, prefix: string): Iterable<string> {
  for (const k of keys) if (k.startsWith(prefix)) yield k;
}

/** CBOR would store `undefined` fields; records keep only what they have. */
function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}
