import { status as grpcStatus, type ClientDuplexStream } from "@grpc/grpc-js";
import type { Clock } from "../../domain/clock.js";
import { CtmError, failedPrecondition, unavailable } from "../../domain/errors.js";
import { jsonByteLength, type JsonValue } from "../../domain/json.js";
import type { Draft, KeyHead, LogRecord } from "../../domain/record.js";
import { checkCompaction, type CompactionOutcome, type CompactionPlan } from "../compaction.js";
import type { CommitListener, LogStore, StoreStats, WriteView } from "../log-store.js";
import { timeSlices, type Pause } from "../time-slices.js";
import type { VerifyReport } from "../verify-report.js";
import { readU64, u64 } from "../level/codec.js";
import { decodeLogValue, encodeLogValue, GENESIS, recordHash } from "../level/record-bytes.js";
import { Event_EventType as EventType } from "../../gen/etcd/mvccpb/kv.js";
import { Compare_CompareTarget as Target, RangeRequest_SortOrder as Sort, type Compare, type RequestOp, type WatchRequest, type WatchResponse } from "../../gen/etcd/etcdserverpb/rpc.js";
import { EtcdClient, type EtcdConnection } from "./etcd-client.js";
import { EtcdLayout, prefixEnd } from "./etcd-layout.js";
import { entriesFor, indexEntries } from "./etcd-index.js";
import { EtcdElection, type ElectionEvents, type Fence } from "./etcd-election.js";
import { isLeaderOnly } from "../leader-only.js";
import { compactEtcd, type CompactionSite } from "./etcd-compaction.js";
import { decodeHorizon, encodeHorizon } from "./etcd-horizon.js";
import { ServedHorizon } from "./served-horizon.js";
import { cmp, cmpCreate, put, rangeOf, readOp } from "./etcd-ops.js";
import { etcdPages } from "./etcd-pages.js";
import { etcdNotesUnder } from "./etcd-notes.js";
import { verifyEtcdLog } from "./etcd-verify.js";
import { notifyListeners } from "../notify-listeners.js";

export interface EtcdLogStoreOptions {
  readonly connection: EtcdConnection;
  /** Every key of this store starts with it (several stores can share one cluster). */
  readonly prefix: string;
  /** etcd's --max-txn-ops (128 by default): a transaction never holds more operations. */
  readonly maxTxnOps?: number;
  /** Bytes of keys and values per transaction, below etcd's --max-request-bytes (1.5 MiB by default). */
  readonly maxTxnBytes?: number;
  /** How long a replica waits before indexing commits another replica left unindexed, ms. */
  readonly indexLagMs?: number;
  /** Where compaction, when this replica runs it, writes the archive of what leaves etcd. */
  readonly archiveDir?: string;
}

interface Pending {
  /** Made inside leaderOnly: written only under the leadership's fence. */
  fenced: boolean;
  prepare: (view: WriteView, pause: Pause) => readonly Draft[] | Promise<readonly Draft[]>;
  records: LogRecord[];
  /** Written in the same transaction as the records (the horizon a compaction's report ends). */
  alsoPut?: readonly (readonly [Buffer, Buffer])[];
  resolve: (rs: LogRecord[]) => void;
  reject: (e: unknown) => void;
}

/** A committed record above meta/indexed, with the bytes the indexer copies into h/<key>. */
interface TailEntry {
  record: LogRecord;
  bytes: Buffer;
}

const DEFAULT_TXN_OPS = 128;
/** Ranges per read transaction: one more reads meta/horizon, within etcd's 128 operations. */
const READS_PER_TXN = DEFAULT_TXN_OPS - 2;
/** How often a replica checks that etcd's quorum answers, ms. */
const PROBE_MS = 1000;
/** The lease, in seconds, on the claim of a commit written in several transactions. */
const STAGE_TTL_S = 10;
const DEFAULT_TXN_BYTES = 1_400_000;
const SLICE_MS = 10;

/**
 * The LogStore on an etcd cluster, for several ctmd replicas that share one log.
 *
 * A commit is one etcd transaction: it compares meta/head's mod revision with the one this
 * replica last applied, and puts the records and the new head. When another replica committed
 * first, the comparison fails; this replica reads what it missed, runs the waiting commits'
 * `prepare` again against the new state and tries again, so the revision stays global and
 * gap-free and a conflict never reaches a client. Indexes are derived data: the replica that
 * committed writes them right after (meta/indexed says how far they go), reads above that come
 * from the records it holds in memory, and any replica finishes what a dead one left.
 * Other replicas follow through an etcd watch on the log and meta/head.
 */
export class EtcdLogStore implements LogStore {
  private readonly layout: EtcdLayout;
  private client!: EtcdClient;
  private readonly committed = new Map<string, LogRecord>();
  private sortedKeys: { key: string; bytes: Buffer }[] | undefined;
  private tail: TailEntry[] = [];
  private committedRev = 0;
  private committedHash: Buffer = GENESIS;
  private indexedRev = 0;
  private readonly writer = new Map<string, KeyHead>();
  private nextRev = 1;
  private lastTime = 0;
  private queue: Pending[] = [];
  private flushing = false;
  private readonly onDrained: (() => void)[] = [];
  private alone = false;
  private waiting: (() => void)[] = [];
  private isOpen = false;
  private failure: CtmError | undefined;
  private readonly listeners = new Set<CommitListener>();
  private counters = { openLogReads: 0, batches: 0, records: 0 };
  private watch: ClientDuplexStream<WatchRequest, WatchResponse> | undefined;
  private watchFrom = 0n;
  private readonly seen = new Map<number, Buffer>();
  /** The last revision of this replica's commit transaction in flight; 0 when none. */
  private inFlightTo = 0;
  private catching: Promise<void> | undefined;
  private indexing: Promise<void> | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  private lagSince = 0;
  private verification: VerifyReport | undefined;
  private outage: string | undefined;
  private probing = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private election: EtcdElection | undefined;
  /** The oldest revision served (meta/horizon): compaction raises it before anything leaves. */
  private readonly horizon: ServedHorizon;
  /** The watch started again past history etcd had compacted: what it skipped is not replayed. */
  private watchSkipped = false;
  private compacting = false;
  private readonly closing = new AbortController();
  /** Told when a commit listener throws (set by the composition root); without it, a process warning. */
  onListenerError: ((error: Error) => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly opts: EtcdLogStoreOptions,
  ) {
    this.layout = new EtcdLayout(opts.prefix);
    this.horizon = new ServedHorizon(() => this.client, this.layout);
  }

  get headRevision(): number {
    return this.committedRev;
  }
  get firstRevision(): number {
    return this.horizon.current.revision;
  }
  get firstTime(): number {
    return this.horizon.current.time;
  }
  get healthy(): boolean {
    return this.isOpen && !this.failure;
  }
  get refusal(): CtmError | undefined {
    return this.failure;
  }
  get writeOutage(): string | undefined {
    return this.outage;
  }
  get stats(): StoreStats {
    return { ...this.counters };
  }
  get compactionRunning(): boolean {
    return this.compacting;
  }
  get lastVerification(): VerifyReport | undefined {
    return this.verification;
  }
  get keyCount(): number {
    return this.committed.size;
  }

  async open(): Promise<void> {
    this.client = new EtcdClient(this.opts.connection);
    try {
      await this.load();
    } catch (e) {
      this.client.close();
      if (e instanceof CtmError) throw e;
      throw unavailable(`could not read the ctm log from etcd at ${this.opts.connection.endpoints.join(",")}: ${errorText(e)}`);
    }
  }

  private async load(): Promise<void> {
    const L = this.layout;
    // meta/indexed exists from the first open on, so the indexer can compare its value.
    await this.client.txn({ compare: [cmp(L.indexed, Target.VERSION, 0n)], success: [put(L.indexed, u64(0))] });
    const head = await this.client.range({ key: L.head });
    const at = head.header!.revision;
    const kv = head.kvs[0];
    const { rev, hash } = kv ? readHead(kv.value) : { rev: 0, hash: GENESIS };
    const indexed = readU64((await this.client.range({ key: L.indexed, revision: at })).kvs[0]!.value);
    this.horizon.follow((await this.client.range({ key: L.horizon, revision: at })).kvs[0]?.value);
    // Every key's newest record as of meta/indexed, then the records above it: one snapshot (at).
    for await (const kvs of etcdPages(this.client, L.headsPrefix, prefixEnd(L.headsPrefix), { at })) {
      for (const h of kvs) {
        const r = decodeLogValue(h.value).record;
        this.committed.set(r.key, r);
        this.counters.openLogReads++;
      }
    }
    this.committedRev = indexed;
    this.indexedRev = indexed;
    if (rev > indexed) {
      for await (const kvs of etcdPages(this.client, L.log(indexed + 1), L.log(rev + 1), { at })) {
        for (const e of kvs) {
          const bytes = Buffer.from(e.value);
          const r = decodeLogValue(bytes).record;
          this.counters.openLogReads++;
          this.take(r, bytes);
        }
      }
    }
    if (this.committedRev !== rev) throw new CtmError("data_loss", `etcd store ${this.opts.prefix}: meta/head says revision ${rev} but the log ends at ${this.committedRev}`);
    this.committedHash = hash;
    this.nextRev = rev + 1;
    for (const r of this.committed.values()) this.lastTime = Math.max(this.lastTime, r.time);
    this.isOpen = true;
    this.follow(at + 1n);
    const lag = this.opts.indexLagMs ?? 2000;
    this.indexTimer = setInterval(() => this.indexIfLagging(lag), Math.max(50, lag / 2));
    this.indexTimer.unref();
    this.probeTimer = setInterval(() => this.probeQuorum(), PROBE_MS);
    this.probeTimer.unref();
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    // A compaction stops at its next step; the next one finishes what it left (see compactEtcd).
    this.closing.abort();
    while (this.compacting) await sleep(5);
    await this.election?.close();
    while (this.flushing) await new Promise<void>((resolve) => this.onDrained.push(resolve));
    await this.index();
    this.isOpen = false;
    clearInterval(this.indexTimer);
    clearInterval(this.probeTimer);
    const w = this.watch;
    this.watch = undefined;
    w?.cancel();
    this.client.close();
  }

  /** Removes every key of this store from etcd: for tests and `ctmd` tooling, never on a path a client reaches. */
  async destroy(): Promise<void> {
    const [from, to] = this.layout.everything;
    const client = this.isOpen ? this.client : new EtcdClient(this.opts.connection);
    await client.deleteRange({ key: from, rangeEnd: to });
    if (!this.isOpen) client.close();
  }

  commit(prepare: (view: WriteView) => readonly Draft[]): Promise<LogRecord[]> {
    return this.commitAs(prepare, isLeaderOnly());
  }

  /** `fenced` is decided by the caller: a commit that waits for commitAlone runs in another async context. */
  private commitAs(prepare: (view: WriteView) => readonly Draft[], fenced: boolean, alsoPut?: Pending["alsoPut"]): Promise<LogRecord[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.isOpen) return Promise.reject(unavailable("store is closed"));
    if (this.alone) return new Promise((resolve, reject) => this.waiting.push(() => void this.commitAs(prepare, fenced, alsoPut).then(resolve, reject)));
    let records: LogRecord[];
    try {
      records = this.stampAll(prepare(this.view));
    } catch (e) {
      return Promise.reject(e);
    }
    if (records.length === 0) return Promise.resolve([]);
    return this.enqueue({ prepare, records, fenced, ...(alsoPut ? { alsoPut } : {}) });
  }

  async commitAlone(prepare: (view: WriteView, pause: Pause) => Promise<readonly Draft[]>): Promise<LogRecord[]> {
    const fenced = isLeaderOnly();
    if (this.failure) throw this.failure;
    if (!this.isOpen) throw unavailable("store is closed");
    if (this.alone) return new Promise((resolve, reject) => this.waiting.push(() => void this.commitAlone(prepare).then(resolve, reject)));
    this.alone = true;
    let durable: Promise<LogRecord[]>;
    try {
      const records = this.stampAll(await prepare(this.view, timeSlices(SLICE_MS)));
      if (!this.isOpen) throw unavailable("store is closed");
      durable = records.length === 0 ? Promise.resolve([]) : this.enqueue({ prepare, records, fenced });
    } finally {
      this.alone = false;
      const waiting = this.waiting;
      this.waiting = [];
      for (const run of waiting) run();
    }
    return durable;
  }

  /**
   * Compacts the log below `plan.horizon` (see compactEtcd). Compaction is the leader's: on a
   * store with an election every write it makes is fenced by the leadership, whoever asks.
   */
  async compact(plan: CompactionPlan): Promise<CompactionOutcome> {
    if (this.failure) throw this.failure;
    if (!this.isOpen) throw unavailable("store is closed");
    checkCompaction(plan, this.committedRev, this.firstRevision, this.compacting);
    this.compacting = true;
    try {
      if (this.election && !this.election.fence) throw await this.notLeading("this replica does not lead");
      if (this.opts.archiveDir === undefined) throw failedPrecondition("this etcd store was opened without an archive directory, where compaction writes what leaves");
      const h = plan.horizon;
      await this.indexedUpTo(h);
      // Another leader may have compacted since this replica's watch last spoke.
      const meta = (await this.client.range({ key: this.layout.horizon })).kvs[0];
      this.horizon.raise(decodeHorizon(meta?.value));
      if (h < this.firstRevision) throw failedPrecondition(`the horizon is at revision ${this.firstRevision} already, and it never moves back`);
      return await compactEtcd(this.compactionSite(this.opts.archiveDir), plan, this.horizon.current, meta?.modRevision ?? 0n);
    } catch (e) {
      throw this.closing.signal.aborted ? unavailable("the store closed during the compaction; the next compaction finishes it") : e;
    } finally {
      this.compacting = false;
    }
  }

  private compactionSite(archiveDir: string): CompactionSite {
    const fenced = this.election !== undefined;
    return {
      client: this.client,
      layout: this.layout,
      archiveDir,
      now: () => this.clock.now(),
      signal: this.closing.signal,
      maxTxnOps: (this.opts.maxTxnOps ?? DEFAULT_TXN_OPS) - 1,
      maxTxnBytes: this.opts.maxTxnBytes ?? DEFAULT_TXN_BYTES,
      fencing: () => {
        if (!fenced) return [];
        const fence = this.election!.fence;
        // Deposed while it ran: a comparison that cannot hold, so the write is refused in etcd.
        return [cmpCreate(this.layout.leader, fence ? fence.createRevision : -1n)];
      },
      refused: async (step) => {
        const fence = this.election?.fence;
        if (fenced && (!fence || !(await this.stillLeads(fence)))) return this.notLeading(`this replica no longer leads, so the compaction did not ${step}`);
        return failedPrecondition(`another compaction changed the horizon meanwhile, so this one did not ${step}`);
      },
      latest: (key) => this.committed.get(key),
      raise: (h) => this.horizon.raise(h),
      commitReport: async (report, h) => (await this.commitAs(() => [report], fenced, [[this.layout.horizon, encodeHorizon(h)]]))[0]!,
    };
  }

  /** Compaction runs on the leader alone: the refusal names it, so an operator knows where to ask. */
  private async notLeading(why: string): Promise<CtmError> {
    const leader = await this.client.range({ key: this.layout.leader }).then((r) => r.kvs[0]?.value.toString("utf8"), () => undefined);
    return failedPrecondition(`${why}: compaction runs on the leader of the ctmd replicas${leader ? ` (${leader})` : ""}`);
  }

  /** Waits until etcd's indexes cover `revision`: a record compaction removes must have its index entries already, or the indexer would write them after it. */
  private async indexedUpTo(revision: number): Promise<void> {
    const giveUpAt = Date.now() + this.callTimeoutMs;
    while (this.indexedRev < revision) {
      await this.index();
      if (this.indexedRev >= revision) return;
      this.closing.signal.throwIfAborted();
      if (Date.now() > giveUpAt) throw unavailable(`etcd's indexes end at revision ${this.indexedRev}, below the compaction horizon ${revision}; the compaction is retried at its next run`);
      await sleep(50);
    }
  }

  async verify(): Promise<VerifyReport> {
    const report = await verifyEtcdLog(this.client, this.layout);
    this.verification = report;
    return report;
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

  async pageAt(prefix: string, revision: number, limit: number, after?: string, maxBytes = Infinity): Promise<{ records: LogRecord[]; last?: string }> {
    const rev = Math.min(revision, this.committedRev);
    this.horizon.check(rev);
    const keys = this.keysInByteOrder();
    const start = Buffer.from(after ?? prefix, "utf8");
    let i = lowerBound(keys, start);
    if (after !== undefined && i < keys.length && keys[i]!.key === after) i++;
    const looked: string[] = [];
    for (; i < keys.length && looked.length < limit && keys[i]!.key.startsWith(prefix); i++) looked.push(keys[i]!.key);
    const more = i < keys.length && keys[i]!.key.startsWith(prefix);
    const past = await this.atMany(looked.filter((k) => this.committed.get(k)!.revision > rev), rev);
    this.horizon.check(rev);
    const found = looked.map((k) => {
      const latest = this.committed.get(k)!;
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
    const rev = Math.min(revision, this.committedRev);
    this.horizon.check(rev);
    const inTail = this.fromTail((r) => r.key === key && r.revision <= rev);
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
    for (const e of this.tail) if (want.has(e.record.key) && e.record.revision <= rev) out.set(e.record.key, e.record);
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
    const inTail = this.fromTail((r) => r.key === key && r.version === version);
    if (inTail) return inTail;
    // The nearest version at or below with an iv/ entry, then the key's ik/ entries from there.
    // Compaction removes a version's iv/ entry with it: then the key's oldest ik/ entry is where to start.
    const L = this.layout;
    const near = (await this.client.range({ key: L.keyVersion(key, 0), rangeEnd: L.keyVersion(key, version + 1), sortOrder: Sort.DESCEND, limit: 1n })).kvs[0];
    const oldest = near ? undefined : (await this.client.range({ key: L.keyRev(key, 0), rangeEnd: L.keyRev(key, this.committedRev + 1), limit: 1n })).kvs[0];
    if (!near && (!oldest || readU64(oldest.value) > version)) return undefined;
    let rev = near ? readU64(near.value) : readU64(oldest!.key, oldest!.key.length - 8);
    const from = near ? readU64(near.key, near.key.length - 8) : readU64(oldest!.value);
    if (from !== version) {
      const idx = await this.client.range({ key: L.keyRev(key, rev), rangeEnd: L.keyRev(key, this.committedRev + 1), limit: BigInt(version - from + 1) });
      const hit = idx.kvs.find((kv) => readU64(kv.value) === version);
      if (!hit) return undefined;
      rev = readU64(hit.key, hit.key.length - 8);
    }
    return rev > this.committedRev ? undefined : this.readLog(rev);
  }

  async history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    const upper = Math.min(beforeRevision === undefined ? Number.MAX_SAFE_INTEGER : beforeRevision - 1, this.committedRev);
    const out = this.tail.filter((e) => e.record.key === key && e.record.revision <= upper).map((e) => e.record).reverse().slice(0, limit);
    if (out.length >= limit) return out;
    const below = out.length > 0 ? out[out.length - 1]!.revision - 1 : upper;
    if (below < 1) return out;
    const idx = await this.client.range({ key: this.layout.keyRev(key, 0), rangeEnd: this.layout.keyRev(key, below + 1), sortOrder: Sort.DESCEND, limit: BigInt(limit - out.length), keysOnly: true });
    const older = await this.readMany(idx.kvs.map((k) => readU64(k.key, k.key.length - 8)));
    return [...out, ...older.filter((r) => r.revision <= below)];
  }

  async revisionAt(time: number): Promise<number> {
    if (!(time >= 0)) return 0;
    const ms = Math.floor(time);
    const inTail = this.fromTail((r) => r.time <= ms);
    if (inTail) return inTail.revision;
    const idx = await this.client.range({ key: this.layout.timeFloor(), rangeEnd: this.layout.timeRev(Math.min(ms + 1, Number.MAX_SAFE_INTEGER), 0), sortOrder: Sort.DESCEND, limit: 1n, keysOnly: true });
    const k = idx.kvs[0];
    return k ? Math.min(readU64(k.key, k.key.length - 8), this.committedRev) : 0;
  }

  async range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    const upper = Math.min(to, this.committedRev);
    if (from > upper || limit <= 0) return [];
    // A run of revisions with a gap is never an answer, for one key either (a Watch catching up).
    this.horizon.check(from);
    if (key === undefined) {
      const r = await this.horizon.range({ key: this.layout.log(from), rangeEnd: this.layout.log(upper + 1), limit: BigInt(limit) });
      this.horizon.check(from);
      return r.kvs.map((kv) => decodeLogValue(kv.value).record);
    }
    // The tail first: the indexer may move its records into the index while etcd answers.
    const tail = this.tail.map((e) => e.record).filter((r) => r.key === key && r.revision >= from && r.revision <= upper);
    const idx = await this.horizon.range({ key: this.layout.keyRev(key, from), rangeEnd: this.layout.keyRev(key, upper + 1), limit: BigInt(limit), keysOnly: true });
    const indexed = await this.readMany(idx.kvs.map((k) => readU64(k.key, k.key.length - 8)));
    this.horizon.check(from);
    const seen = new Set(indexed.map((r) => r.revision));
    const fromTail = tail.filter((r) => !seen.has(r.revision));
    return [...indexed, ...fromTail].sort((a, b) => a.revision - b.revision).slice(0, limit);
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async readNote(name: string): Promise<Buffer | undefined> {
    const r = await this.client.range({ key: this.layout.note(name) });
    return r.kvs[0] ? Buffer.from(r.kvs[0].value) : undefined;
  }

  async writeNote(name: string, value: Buffer): Promise<void> {
    await this.writeNotes([[name, value]]);
  }

  async writeNotes(notes: readonly (readonly [string, Buffer])[]): Promise<void> {
    for (let i = 0; i < notes.length; i += DEFAULT_TXN_OPS) {
      await this.client.txn({ success: notes.slice(i, i + DEFAULT_TXN_OPS).map(([n, v]) => put(this.layout.note(n), v)) });
    }
  }

  async *notes(prefix: string): AsyncGenerator<[string, Buffer]> {
    const from = this.layout.note(prefix);
    for await (const kvs of etcdPages(this.client, from, prefixEnd(from))) {
      for (const kv of kvs) yield [Buffer.from(kv.key).subarray(this.layout.notesPrefix.length).toString("utf8"), Buffer.from(kv.value)];
    }
  }

  notesUnder(prefixes: readonly string[]): AsyncGenerator<[string, Buffer]> {
    return etcdNotesUnder(this.client, this.layout, prefixes, this.opts.maxTxnOps ?? DEFAULT_TXN_OPS);
  }

  // ---- writing ----

  private readonly view: WriteView = {
    head: (key) => this.writer.get(key) ?? headOf(this.committed.get(key)),
    keys: (prefix) => {
      const all = new Set<string>();
      for (const k of this.committed.keys()) if (k.startsWith(prefix)) all.add(k);
      for (const k of this.writer.keys()) if (k.startsWith(prefix)) all.add(k);
      return all;
    },
  };

  private stampAll(drafts: readonly Draft[]): LogRecord[] {
    // Whole milliseconds: the time index is keyed by integer ms.
    const now = Math.max(this.lastTime, Math.floor(this.clock.now()));
    this.lastTime = now;
    return drafts.map((d) => {
      const version = (this.view.head(d.key)?.version ?? 0) + 1;
      const r: LogRecord = { ...stripUndefined(d), revision: this.nextRev++, version, time: now };
      this.writer.set(r.key, { version, revision: r.revision, deleted: r.deleted });
      return r;
    });
  }

  private enqueue(p: Omit<Pending, "resolve" | "reject">): Promise<LogRecord[]> {
    return new Promise<LogRecord[]>((resolve, reject) => {
      this.queue.push({ ...p, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        this.flush().catch((e: unknown) => {
          // A fault of this code, not etcd's: nothing queued can be trusted to land.
          this.failure ??= new CtmError("internal", `etcd store failed: ${errorText(e)}`);
          for (const q of this.queue.splice(0)) q.reject(this.failure);
          this.drained();
        });
      }
    });
  }

  private drained(): void {
    this.flushing = false;
    for (const resolve of this.onDrained.splice(0)) resolve();
  }

  /** Group commit: whatever queued while a transaction was in flight goes into the next one. */
  private async flush(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        // In the same turn as this last look at the queue, so the next enqueue starts a new flush.
        this.drained();
        return;
      }
      // Another replica's records came in (through the watch, or a consistent read's catch-up)
      // after these commits were stamped: their revisions are taken. Prepare them again on what
      // is applied now, before any is sent.
      if (this.queue[0]!.records[0]!.revision !== this.committedRev + 1) {
        this.restamp();
        continue;
      }
      const { group, staged } = this.takeGroup();
      if (group.length === 0) continue;
      const L = this.layout;
      let prev = this.committedHash;
      // The transaction lands only on the head its first record follows: meta/head's value (the
      // revision and the hash that record chains to) is unique to one history.
      const base = group[0]!.records[0]!.revision - 1;
      const onHead = base === 0 ? cmp(L.head, Target.VERSION, 0n) : cmp(L.head, Target.VALUE, headValue(base, this.committedHash));
      const ops: RequestOp[] = [];
      const written: TailEntry[] = [];
      for (const p of group) {
        for (const r of p.records) {
          const bytes = encodeLogValue(prev, r);
          prev = recordHash(bytes);
          ops.push(put(L.log(r.revision), bytes));
          written.push({ record: r, bytes });
        }
      }
      const last = written[written.length - 1]!.record.revision;
      for (const [k, v] of group[0]!.alsoPut ?? []) ops.push(put(k, v));
      ops.push(put(L.head, Buffer.concat([u64(last), prev])));
      let outcome: "ok" | "conflict";
      const before = this.committedRev;
      const fence = group[0]!.fenced && this.election ? this.election.fence : undefined;
      if (group[0]!.fenced && this.election && !fence) {
        this.refuseUnfenced(group, "this replica does not lead");
        continue;
      }
      const fencing = fence ? [cmpCreate(fence.key, fence.createRevision)] : [];
      try {
        this.inFlightTo = last;
        const res = staged
          ? await this.commitStaged(ops, onHead, fencing)
          : await this.client.txn({ compare: [onHead, cmp(L.intent, Target.VERSION, 0n), ...fencing], success: ops });
        if (!res.succeeded && fence && !(await this.stillLeads(fence))) {
          this.refuseUnfenced(group, "this replica no longer leads");
          continue;
        }
        outcome = res.succeeded ? "ok" : "conflict";
      } catch (e) {
        if (e instanceof CtmError) {
          for (const p of group) p.reject(e);
          await this.resync();
          continue;
        }
        // The member went away with the transaction in flight: it may or may not have been
        // applied. Read the log from another member to find out, and write it again only if not.
        const landed = await this.landed(written[0]!, group, e);
        if (landed) {
          for (const p of group) p.resolve(p.records);
          void this.index();
        }
        continue;
      }
      if (outcome === "conflict") {
        // Another replica committed first: catch up, then prepare these commits again. When
        // nothing new came, another replica is writing a large commit: wait a little for it.
        this.queue = [...group, ...this.queue];
        await this.resync();
        if (this.committedRev === before) await sleep(20);
        continue;
      }
      this.outage = undefined;
      this.counters.batches++;
      this.counters.records += written.length;
      // The watch may have shown this transaction (and later ones) before its answer came.
      const fresh = written.filter((w) => w.record.revision > this.committedRev);
      if (fresh.length === written.length) this.committedHash = prev;
      for (const w of fresh) this.take(w.record, w.bytes);
      for (const k of this.seen.keys()) if (k <= this.committedRev) this.seen.delete(k);
      this.writer.clear();
      // The queue's commits were stamped on top of these: keep their heads in the view.
      for (const q of this.queue) for (const r of q.records) this.writer.set(r.key, { version: r.version, revision: r.revision, deleted: r.deleted });
      if (fresh.length > 0) this.notify(fresh.map((w) => w.record));
      for (const p of group) p.resolve(p.records);
      void this.index();
    }
  }

  /**
   * The queue's first commits that fit one transaction, in order; or the first commit alone,
   * `staged`, when it does not fit one by itself.
   */
  private takeGroup(): { group: Pending[]; staged: boolean } {
    const maxOps = (this.opts.maxTxnOps ?? DEFAULT_TXN_OPS) - 1;
    const maxBytes = this.opts.maxTxnBytes ?? DEFAULT_TXN_BYTES;
    let ops = 0;
    let bytes = 0;
    let n = 0;
    for (const p of this.queue) {
      const size = p.records.reduce((s, r) => s + storedSize(r) + 64, 0);
      if (n > 0 && (ops + p.records.length > maxOps || bytes + size > maxBytes || p.fenced !== this.queue[0]!.fenced || p.alsoPut || this.queue[0]!.alsoPut)) break;
      ops += p.records.length;
      bytes += size;
      n++;
    }
    const group = this.queue.splice(0, n);
    return { group, staged: ops > maxOps || bytes > maxBytes };
  }

  /**
   * One commit in several transactions, as atomic as one: it claims meta/intent on a lease (no
   * other commit lands while it is held, since every commit compares it), writes its records in
   * transactions that each check the claim is still its own, then moves meta/head and drops the
   * claim in one last transaction. Until then no reader trusts a record above meta/head; if this
   * replica dies, the lease expires and the next commit overwrites what it left.
   */
  private async commitStaged(ops: RequestOp[], onHead: Compare, fencing: Compare[]): Promise<{ succeeded: boolean; header?: { revision: bigint } }> {
    const L = this.layout;
    const headOp = ops[ops.length - 1]!;
    const records = ops.slice(0, -1);
    let lost = false;
    const lease = await this.client.lease(STAGE_TTL_S, () => (lost = true));
    try {
      const claim = await this.client.txn({
        compare: [onHead, cmp(L.intent, Target.VERSION, 0n), ...fencing],
        success: [{ request: { $case: "requestPut", value: { key: L.intent, value: u64(this.committedRev), lease: lease.id, prevKv: false } } }],
      });
      if (!claim.succeeded) return { succeeded: false };
      const mine = cmp(L.intent, Target.MOD, claim.header!.revision);
      const maxOps = (this.opts.maxTxnOps ?? DEFAULT_TXN_OPS) - 1;
      const maxBytes = this.opts.maxTxnBytes ?? DEFAULT_TXN_BYTES;
      const send = async (chunk: RequestOp[]): Promise<void> => {
        const r = await this.client.txn({ compare: [mine], success: chunk });
        if (!r.succeeded || lost) throw unavailable("a large commit lost its claim on the etcd store (its lease expired) and was not applied");
      };
      let chunk: RequestOp[] = [];
      let bytes = 0;
      for (const op of records) {
        const size = op.request?.$case === "requestPut" ? op.request.value.key.length + op.request.value.value.length : 0;
        if (chunk.length > 0 && (chunk.length >= maxOps || bytes + size > maxBytes)) {
          await send(chunk);
          chunk = [];
          bytes = 0;
        }
        chunk.push(op);
        bytes += size;
      }
      if (chunk.length > 0) await send(chunk);
      const done = await this.client.txn({ compare: [mine, onHead, ...fencing], success: [headOp, { request: { $case: "requestDeleteRange", value: { key: L.intent, rangeEnd: EMPTY, prevKv: false } } }] });
      if (!done.succeeded) throw unavailable("a large commit lost its claim on the etcd store before it was applied");
      return done as { succeeded: boolean; header: { revision: bigint } };
    } finally {
      await lease.release();
    }
  }

  /**
   * Starts campaigning to lead the replicas of this store: `elected` and `deposed` start and stop
   * the loops, whose commits are then fenced by the leadership (see leaderOnly).
   */
  campaign(id: string, ttlSeconds: number, events: ElectionEvents): EtcdElection {
    this.election = new EtcdElection(this.client, this.layout.leader, id, ttlSeconds, events);
    this.election.start();
    return this.election;
  }

  private refuseUnfenced(group: Pending[], why: string): void {
    const err = failedPrecondition(`${why}: only the leader of the ctmd replicas writes what the scheduler, the health loop and compaction write`);
    for (const p of group) p.reject(err);
    this.restamp();
  }

  private async stillLeads(fence: Fence): Promise<boolean> {
    const r = await this.client.range({ key: fence.key });
    return r.kvs[0]?.createRevision === fence.createRevision;
  }

  /** After the head moved under the queue: run every waiting commit's prepare again on the new state. */
  private restamp(): void {
    this.writer.clear();
    this.nextRev = this.committedRev + 1;
    const queue = this.queue;
    this.queue = [];
    for (const p of queue) {
      try {
        const drafts = p.prepare(this.view, () => undefined);
        // A commit prepared in steps (a whole prefix) is not prepared again: the client retries it.
        if (drafts instanceof Promise) throw new CtmError("conflict", "another ctmd replica wrote while this commit was prepared; retry it");
        p.records = this.stampAll(drafts);
        if (p.records.length === 0) p.resolve([]);
        else this.queue.push(p);
      } catch (e) {
        p.reject(e);
      }
    }
  }

  /**
   * After a commit transaction whose outcome is unknown: catches up from etcd and tells whether
   * the first record is there with the bytes this replica wrote (then the whole transaction is,
   * as the chain binds each record to the one before). If not, the group goes back on the queue.
   */
  private async landed(first: TailEntry, group: Pending[], cause: unknown): Promise<boolean> {
    const giveUpAt = Date.now() + this.callTimeoutMs;
    for (let attempt = 0; Date.now() < giveUpAt && this.isOpen; attempt++) {
      try {
        await this.catchUp();
        const r = await this.client.range({ key: this.layout.log(first.record.revision) });
        const kv = r.kvs[0];
        const head = readHead((await this.client.range({ key: this.layout.head })).kvs[0]?.value ?? Buffer.alloc(40));
        if (kv && head.rev >= first.record.revision && Buffer.from(kv.value).equals(first.bytes)) {
          await this.catchUp();
          return true;
        }
        this.queue = [...group, ...this.queue];
        this.restamp();
        return false;
      } catch {
        await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 4)));
      }
    }
    const err = unavailable(`${outageText(cause)}. A write refused so may still have been applied: read it back before writing it again`);
    this.outage = err.message;
    for (const p of [...group, ...this.queue]) p.reject(err);
    this.queue = [];
    this.restamp();
    return false;
  }

  private get callTimeoutMs(): number {
    return this.opts.connection.callTimeoutMs ?? 10_000;
  }

  private async resync(): Promise<void> {
    const giveUpAt = Date.now() + this.callTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.catchUp();
        break;
      } catch (e) {
        if (!this.isOpen) return;
        if (Date.now() >= giveUpAt) {
          const err = unavailable(outageText(e));
          this.outage = err.message;
          for (const p of this.queue) p.reject(err);
          this.queue = [];
          this.restamp();
          return;
        }
        await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
    this.restamp();
  }

  /** Reads etcd's head after the call and applies everything up to it (a consistent read). */
  async syncToHead(): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.isOpen) throw unavailable("store is closed");
    // A catch-up already under way may have read the head before this call: wait, then read again.
    if (this.catching) await this.catching.catch(() => undefined);
    try {
      await this.catchUp();
    } catch (e) {
      throw unavailable(`etcd did not answer a consistent read (${errorText(e)}): read without consistent to be answered from memory`);
    }
  }

  /**
   * A linearizable read needs etcd's quorum as a write does: how a replica knows, without
   * writing, whether writes can be made (writeOutage, the health of writes).
   */
  private probeQuorum(): void {
    if (this.probing || !this.isOpen) return;
    this.probing = true;
    this.client
      .range({ key: this.layout.head, keysOnly: true })
      .then(
        () => (this.outage = undefined),
        (e: unknown) => (this.outage = `etcd did not answer a read that needs its quorum (${errorText(e)}): writes are refused, reads are served from memory`),
      )
      .finally(() => (this.probing = false));
  }

  // ---- following ----

  /** Reads every record above committedRev up to etcd's meta/head, and applies them. */
  private catchUp(): Promise<void> {
    if (this.catching) return this.catching;
    this.catching = (async () => {
      try {
        const L = this.layout;
        const meta = await this.client.readTxn({ success: [readOp(L.head), readOp(L.horizon)] });
        const at = meta.header!.revision;
        const [kv, horizon] = meta.responses.map((r) => (r.response?.$case === "responseRange" ? r.response.value.kvs[0] : undefined));
        if (!kv) return;
        const below = decodeHorizon(horizon?.value);
        this.horizon.raise(below);
        const { rev } = readHead(kv.value);
        if (rev > this.committedRev) {
          for await (const kvs of etcdPages(this.client, L.log(this.committedRev + 1), L.log(rev + 1), { at })) {
            for (const e of kvs) {
              const r = this.layout.revOfLog(e.key);
              // Below the horizon the record may have been stripped since the watch brought it as written.
              if (r >= below.revision || !this.seen.has(r)) this.seen.set(r, Buffer.from(e.value));
            }
          }
        }
        this.applySeen(rev);
        if (this.committedRev >= rev) this.watchSkipped = false;
      } finally {
        this.catching = undefined;
      }
    })();
    return this.catching;
  }

  /** Applies the records seen (by the watch or a catch-up) up to `head`, in revision order. */
  private applySeen(head: number): void {
    const applied: LogRecord[] = [];
    let behind = false;
    while (this.committedRev < head) {
      const bytes = this.seen.get(this.committedRev + 1);
      const stored = bytes && decodeLogValue(bytes);
      if (!stored || !stored.prev || !Buffer.from(stored.prev).equals(this.committedHash)) {
        // Below the horizon, compaction may have removed or stripped it after this replica fell behind.
        if (this.committedRev + 1 < this.firstRevision) behind = true;
        else if (stored) this.failure ??= new CtmError("data_loss", `etcd store ${this.opts.prefix}: record ${this.committedRev + 1} does not follow the hash of the record before it`);
        break;
      }
      this.committedHash = recordHash(bytes);
      this.take(stored.record, bytes);
      applied.push(stored.record);
    }
    for (const k of this.seen.keys()) if (k <= this.committedRev) this.seen.delete(k);
    if (applied.length > 0) {
      this.nextRev = Math.max(this.nextRev, this.committedRev + 1);
      for (const r of applied) this.lastTime = Math.max(this.lastTime, r.time);
      this.notify(applied);
    }
    if (behind) return this.fellBehind();
    if (this.failure) return;
    if (this.committedRev < head) void this.catchUp().catch(() => undefined);
  }

  /**
   * This replica has not applied everything below the horizon, and etcd's log there has gaps or
   * stripped records now. Its watch brings the records as they were written, in order, unless it
   * had to start again past history etcd compacted: then nothing can, and rather than serve a
   * gap the replica stops serving until it is restarted (which loads the store afresh).
   */
  private fellBehind(): void {
    if (!this.watchSkipped) return;
    this.failure ??= unavailable(
      `this replica applied the log up to revision ${this.committedRev}, was cut off from etcd past its own history while a compaction raised the horizon to ${this.firstRevision}, and cannot follow across it: restart it`,
    );
  }

  private follow(from: bigint): void {
    this.watchFrom = from;
    void (async () => {
      let stream: ClientDuplexStream<WatchRequest, WatchResponse>;
      try {
        stream = await this.client.watchStream();
      } catch {
        return this.refollow();
      }
      if (!this.isOpen) return stream.cancel();
      this.watch = stream;
      const [key, rangeEnd] = this.layout.followRange;
      stream.write({ requestUnion: { $case: "createRequest", value: { key, rangeEnd, startRevision: from, progressNotify: true, prevKv: false, watchId: 0n, fragment: false } } });
      stream.on("data", (res: WatchResponse) => this.onWatch(res));
      // A member that dies ends the stream with an error; one that goes away politely, with an end.
      const lost = (): void => {
        if (this.watch === stream) this.refollow();
      };
      stream.on("error", lost);
      stream.on("end", lost);
      stream.on("close", lost);
    })();
  }

  private refollow(): void {
    this.watch = undefined;
    if (!this.isOpen) return;
    this.client.failover();
    setTimeout(() => {
      if (!this.isOpen) return;
      this.catchUp().then(
        () => this.follow(this.watchFrom),
        () => this.refollow(),
      );
    }, 200).unref();
  }

  private onWatch(res: WatchResponse): void {
    if (res.compactRevision > 0n || res.canceled) {
      // The watch fell below etcd's compaction: log keys at or above ctm's horizon are never
      // superseded, so reading them afresh from the head loses nothing there (below it, see fellBehind).
      this.watchFrom = res.compactRevision > this.watchFrom ? res.compactRevision : this.watchFrom;
      if (res.compactRevision > 0n) this.watchSkipped = true;
      this.watch?.cancel();
      return;
    }
    let head: number | undefined;
    for (const ev of res.events) {
      const kv = ev.kv;
      // Deletes are compaction's, of records this replica applied before their horizon came.
      if (!kv || ev.type === EventType.DELETE) continue;
      const key = Buffer.from(kv.key);
      if (key.equals(this.layout.head)) head = readHead(kv.value).rev;
      else if (key.equals(this.layout.indexed)) this.markIndexed(readU64(kv.value));
      else if (key.equals(this.layout.horizon)) this.followHorizon(kv.value);
      else if (key.subarray(0, this.layout.logPrefix.length).equals(this.layout.logPrefix)) {
        const rev = this.layout.revOfLog(key);
        // A put below the horizon the watch has shown is a strip: the record came as written before it.
        if (rev > this.committedRev && rev >= this.horizon.followed) this.seen.set(rev, Buffer.from(kv.value));
      }
    }
    if (res.header) this.watchFrom = res.header.revision + 1n;
    // This replica's own transaction in flight: its answer applies it, with the records made here.
    if (head !== undefined && head > this.committedRev && head > this.inFlightTo) this.applySeen(head);
  }

  private followHorizon(bytes: Buffer): void {
    try {
      this.horizon.follow(bytes);
    } catch (e) {
      this.failure ??= new CtmError("data_loss", `etcd store ${this.opts.prefix}: ${errorText(e)}`);
    }
  }

  /** A record becomes this replica's: visible to reads, above the indexes until indexed. */
  private take(r: LogRecord, bytes: Buffer): void {
    if (!this.committed.has(r.key)) this.sortedKeys = undefined;
    this.committed.set(r.key, r);
    this.committedRev = r.revision;
    // meta/indexed may come in the same watch answer before the records it covers: those are
    // indexed already, and compaction may remove them from etcd, so they never join the tail.
    if (r.revision > this.indexedRev) this.tail.push({ record: r, bytes });
  }

  private notify(records: LogRecord[]): void {
    notifyListeners(this.listeners, records, this.onListenerError);
  }

  // ---- indexing ----

  private markIndexed(rev: number): void {
    if (rev <= this.indexedRev) return;
    this.indexedRev = rev;
    let drop = 0;
    while (drop < this.tail.length && this.tail[drop]!.record.revision <= rev) drop++;
    if (drop > 0) this.tail = this.tail.slice(drop);
  }

  private indexIfLagging(lagMs: number): void {
    if (!this.isOpen || this.indexedRev >= this.committedRev) {
      this.lagSince = 0;
      return;
    }
    const now = Date.now();
    if (this.lagSince === 0) this.lagSince = now;
    else if (now - this.lagSince >= lagMs) void this.index().catch(() => undefined);
  }

  /** Writes the indexes of the records above meta/indexed, a transaction at a time. */
  private index(): Promise<void> {
    if (this.indexing) return this.indexing;
    if (!this.isOpen || this.tail.length === 0) return Promise.resolve();
    this.indexing = (async () => {
      try {
        const L = this.layout;
        const maxOps = (this.opts.maxTxnOps ?? DEFAULT_TXN_OPS) - 1;
        while (this.isOpen && this.tail.length > 0) {
          // As many records as fit one transaction with their entries, h/<key> and meta/indexed.
          const newest = new Map<string, TailEntry>();
          const ms = new Set<number>();
          let n = 0;
          for (let ops = 1; n < this.tail.length; n++) {
            const e = this.tail[n]!;
            const more = entriesFor(e.record, ms) + (newest.has(e.record.key) ? 0 : 1);
            if (n > 0 && ops + more > maxOps) break;
            ops += more;
            ms.add(e.record.time);
            newest.set(e.record.key, e);
          }
          const chunk = this.tail.slice(0, n);
          const from = this.indexedRev;
          const to = chunk[chunk.length - 1]!.record.revision;
          const ops = indexEntries(L, chunk.map((e) => e.record)).map(([k, v]) => put(k, v));
          for (const [k, e] of newest) ops.push(put(L.headOf(k), e.bytes));
          ops.push(put(L.indexed, u64(to)));
          const res = await this.client.txn({ compare: [cmp(L.indexed, Target.VALUE, u64(from))], success: ops, failure: [{ request: { $case: "requestRange", value: rangeOf(L.indexed) } }] });
          if (res.succeeded) this.markIndexed(to);
          else {
            const r = res.responses[0]?.response;
            const kv = r?.$case === "responseRange" ? r.value.kvs[0] : undefined;
            if (!kv) break;
            const other = readU64(kv.value);
            // Another replica indexes concurrently; when it is behind us, its next try sees ours.
            if (other <= from) break;
            this.markIndexed(other);
          }
        }
      } catch {
        // etcd did not answer: the records stay above meta/indexed, answered from memory, and
        // the lag timer tries again.
      } finally {
        this.indexing = undefined;
      }
    })();
    return this.indexing;
  }

  // ---- reading ----

  /** The newest record above meta/indexed that matches. */
  private fromTail(match: (r: LogRecord) => boolean): LogRecord | undefined {
    for (let i = this.tail.length - 1; i >= 0; i--) {
      const r = this.tail[i]!.record;
      if (r.revision <= this.committedRev && match(r)) return r;
    }
    return undefined;
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

  private keysInByteOrder(): { key: string; bytes: Buffer }[] {
    this.sortedKeys ??= [...this.committed.keys()].map((key) => ({ key, bytes: Buffer.from(key, "utf8") })).sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    return this.sortedKeys;
  }
}

const EMPTY = Buffer.alloc(0);

/** meta/head's value: the last revision and the hash of its record. */
const headValue = (rev: number, hash: Buffer): Buffer => Buffer.concat([u64(rev), hash]);

function readHead(v: Uint8Array): { rev: number; hash: Buffer } {
  return { rev: readU64(v), hash: Buffer.from(v.subarray(8, 40)) };
}

const headOf = (r: LogRecord | undefined): KeyHead | undefined => (r ? { version: r.version, revision: r.revision, deleted: r.deleted } : undefined);

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

/** About what a record takes in the log, for a page's byte budget (the level store's measure). */
const storedSize = (r: LogRecord): number =>
  64 + r.key.length + r.author.length + r.message.length + (r.value === undefined ? 0 : jsonByteLength(r.value)) + (r.rollout ? jsonByteLength(r.rollout as unknown as JsonValue) : 0);

/** CBOR would store `undefined` fields; records keep only what they have. */
function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** Why writes stop: etcd refusing ctmd's credentials is not a lost quorum, and says what to fix. */
function outageText(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  if (code === grpcStatus.UNAUTHENTICATED || code === grpcStatus.PERMISSION_DENIED) {
    return `etcd refused ctmd's credentials (${errorText(e)}): writes are refused until it accepts them, reads are served from memory`;
  }
  return `etcd did not answer (${errorText(e)}): it may have lost its quorum or be out of reach; writes are refused until it answers, reads are served from memory`;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
