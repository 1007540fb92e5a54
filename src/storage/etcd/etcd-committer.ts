import { CtmError, failedPrecondition, unavailable } from "../../domain/errors.js";
import type { Draft, LogRecord } from "@ctm/core/record";
import { Compare_CompareTarget as Target, type RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import { CommitGather } from "./commit-gather.js";
import { isLeaderOnly } from "../leader-only.js";
import type { WriteView } from "../log-store.js";
import { timeSlices, type Pause } from "../time-slices.js";
import { u64 } from "../level/codec.js";
import { encodeLogValue, recordHash } from "../level/record-bytes.js";
import type { AppliedLog, TailEntry } from "./applied-log.js";
import { commitStaged } from "./commit-staged.js";
import type { EtcdClient } from "./etcd-client.js";
import { stillLeads, type EtcdElection } from "./etcd-election.js";
import type { EtcdFollower } from "./etcd-follower.js";
import type { EtcdIndexer } from "./etcd-indexer.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { cmp, cmpCreate, opBytes, put } from "./etcd-ops.js";
import { IndexCost, indexPuts } from "./etcd-index.js";
import { errorText } from "./error-text.js";
import { headValue, readHead } from "./head-value.js";
import type { RecordStamper } from "./record-stamper.js";
import type { StoreStatus } from "./store-status.js";
import { storedSize } from "./stored-size.js";
import type { TxnLimits } from "./txn-limits.js";
import { outageText, type WriteOutage } from "./write-outage.js";

/** What the committer needs of the etcd store it commits to. */
export interface CommitSite {
  client(): EtcdClient;
  readonly layout: EtcdLayout;
  readonly limits: TxnLimits;
  readonly log: AppliedLog;
  readonly stamper: RecordStamper;
  readonly follower: EtcdFollower;
  readonly indexer: EtcdIndexer;
  readonly outage: WriteOutage;
  readonly status: StoreStatus;
  readonly counters: { batches: number; records: number };
  /** The election, once this replica campaigns: commits made inside leaderOnly compare its fence. */
  election(): EtcdElection | undefined;
  notify(records: LogRecord[]): void;
  /** How long a commit waits for etcd to answer before it is refused, ms. */
  readonly callTimeoutMs: number;
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

/**
 * Commits to etcd, a transaction at a time: whatever queued while one was in flight goes into
 * the next (group commit). A commit is stamped when it is made; when another replica's records
 * come first, the waiting commits are prepared and stamped again on what is applied then.
 */
export class EtcdCommitter {
  private queue: Pending[] = [];
  private flushingNow = false;
  private readonly onDrained: (() => void)[] = [];
  private alone = false;
  private waiting: (() => void)[] = [];
  private readonly gather = new CommitGather();

  constructor(private readonly s: CommitSite) {}

  /** Whether a transaction is being written or commits wait for one. */
  get flushing(): boolean {
    return this.flushingNow;
  }

  /** Resolves when the queue next runs dry. */
  whenDrained(): Promise<void> {
    return new Promise<void>((resolve) => this.onDrained.push(resolve));
  }

  /** `fenced` is decided by the caller: a commit that waits for commitAlone runs in another async context. */
  commitAs(prepare: (view: WriteView) => readonly Draft[], fenced: boolean, alsoPut?: Pending["alsoPut"]): Promise<LogRecord[]> {
    if (this.s.status.failure) return Promise.reject(this.s.status.failure);
    if (!this.s.status.open) return Promise.reject(unavailable("store is closed"));
    if (this.alone) return new Promise((resolve, reject) => this.waiting.push(() => void this.commitAs(prepare, fenced, alsoPut).then(resolve, reject)));
    let records: LogRecord[];
    try {
      records = this.s.stamper.stampAll(prepare(this.s.stamper.view));
    } catch (e) {
      return Promise.reject(e);
    }
    if (records.length === 0) return Promise.resolve([]);
    return this.enqueue({ prepare, records, fenced, ...(alsoPut ? { alsoPut } : {}) });
  }

  commitAlone(prepare: (view: WriteView, pause: Pause) => Promise<readonly Draft[]>): Promise<LogRecord[]> {
    return this.commitAloneAs(prepare, isLeaderOnly());
  }

  /** `fenced` is decided once, by the caller: a commit that waits runs again in the context of the one it waited for. */
  private async commitAloneAs(prepare: (view: WriteView, pause: Pause) => Promise<readonly Draft[]>, fenced: boolean): Promise<LogRecord[]> {
    if (this.s.status.failure) throw this.s.status.failure;
    if (!this.s.status.open) throw unavailable("store is closed");
    if (this.alone) return new Promise((resolve, reject) => this.waiting.push(() => void this.commitAloneAs(prepare, fenced).then(resolve, reject)));
    this.alone = true;
    let durable: Promise<LogRecord[]>;
    try {
      const records = this.s.stamper.stampAll(await prepare(this.s.stamper.view, timeSlices()));
      if (!this.s.status.open) throw unavailable("store is closed");
      durable = records.length === 0 ? Promise.resolve([]) : this.enqueue({ prepare, records, fenced });
    } finally {
      this.alone = false;
      const waiting = this.waiting;
      this.waiting = [];
      for (const run of waiting) run();
    }
    return durable;
  }

  private enqueue(p: Omit<Pending, "resolve" | "reject">): Promise<LogRecord[]> {
    return new Promise<LogRecord[]>((resolve, reject) => {
      this.queue.push({ ...p, resolve, reject });
      this.gather.queued(this.queue.length);
      if (!this.flushingNow) {
        this.flushingNow = true;
        this.flush().catch((e: unknown) => {
          // A fault of this code, not etcd's: nothing queued can be trusted to land.
          this.s.status.failure ??= new CtmError("internal", `etcd store failed: ${errorText(e)}`);
          for (const q of this.queue.splice(0)) q.reject(this.s.status.failure);
          this.drained();
        });
      }
    });
  }

  private drained(): void {
    this.flushingNow = false;
    for (const resolve of this.onDrained.splice(0)) resolve();
  }

  /** Group commit: whatever queued while a transaction was in flight goes into the next one. */
  private async flush(): Promise<void> {
    const { layout: L, log, follower } = this.s;
    for (;;) {
      if (this.queue.length === 0) {
        // In the same turn as this last look at the queue, so the next enqueue starts a new flush.
        this.drained();
        return;
      }
      // Another replica's records came in (through the watch, or a consistent read's catch-up)
      // after these commits were stamped: their revisions are taken. Prepare them again on what
      // is applied now, before any is sent.
      if (this.queue[0]!.records[0]!.revision !== log.committedRev + 1) {
        this.restamp();
        continue;
      }
      const { group, staged } = this.takeGroup();
      if (group.length === 0) continue;
      let prev = log.committedHash;
      // The transaction lands only on the head its first record follows: meta/head's value (the
      // revision and the hash that record chains to) is unique to one history.
      const base = group[0]!.records[0]!.revision - 1;
      const onHead = base === 0 ? cmp(L.head, Target.VERSION, 0n) : cmp(L.head, Target.VALUE, headValue(base, log.committedHash));
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
      // Their indexes, and those of the records before them still above meta/indexed, go in the
      // same transaction when they fit: one etcd commit (one Raft round, one fsync per member)
      // instead of two.
      const indexed = !staged && this.withIndexes(ops, written, base);
      ops.push(put(L.head, Buffer.concat([u64(last), prev])));
      let outcome: "ok" | "conflict";
      const before = log.committedRev;
      const election = this.s.election();
      const fence = group[0]!.fenced && election ? election.fence : undefined;
      if (group[0]!.fenced && election && !fence) {
        this.refuseUnfenced(group, "this replica does not lead");
        continue;
      }
      const fencing = fence ? [cmpCreate(fence.key, fence.createRevision)] : [];
      try {
        follower.inFlightTo = last;
        const sentAt = performance.now();
        const res = staged
          ? await commitStaged({ client: this.s.client(), layout: L, limits: this.s.limits, log }, ops, onHead, fencing)
          : await this.s.client().txn({ compare: [onHead, cmp(L.intent, Target.VERSION, 0n), ...fencing], success: ops });
        // etcd's time alone: a refused fenced transaction's leadership check below is not part of it.
        this.gather.wrote(performance.now() - sentAt);
        if (!res.succeeded && fence && !(await stillLeads(this.s.client(), fence))) {
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
          void this.s.indexer.index();
        }
        continue;
      }
      if (outcome === "conflict") {
        // Another replica committed first: catch up, then prepare these commits again. When
        // nothing new came, another replica is writing a large commit: wait a little for it.
        this.queue = [...group, ...this.queue];
        await this.resync();
        if (log.committedRev === before) await sleep(20);
        continue;
      }
      this.s.outage.reason = undefined;
      this.s.counters.batches++;
      this.s.counters.records += written.length;
      // The watch may have shown this transaction (and later ones) before its answer came.
      const fresh = written.filter((w) => w.record.revision > log.committedRev);
      if (fresh.length === written.length) log.committedHash = prev;
      for (const w of fresh) log.take(w.record, w.bytes);
      if (indexed) log.markIndexed(last);
      follower.forgetApplied();
      // The queue's commits were stamped on top of these: keep their heads in the view.
      this.s.stamper.rebase(this.queue.flatMap((q) => q.records));
      if (fresh.length > 0) this.s.notify(fresh.map((w) => w.record));
      for (const p of group) p.resolve(p.records);
      void this.s.indexer.index();
      // With its indexes in the same transaction, each record takes two operations at least
      // (its log key and its index entry): no more commits than half of them fit in one.
      await this.gather.after(group.length, this.queue.length, Math.floor(this.s.limits.maxOps / 2));
    }
  }

  /**
   * Adds to `ops` what the indexer would write for the records above meta/indexed up to `base`
   * and for `written` (index entries, every key's newest record under h/, meta/indexed) when it
   * fits the transaction with meta/head; tells whether it did. The indexer may be writing the
   * same entries for the records up to `base` meanwhile: they are identical, its transaction
   * compares meta/indexed, and this one only moves meta/indexed forward (nothing lies beyond
   * `base` but these records, as the transaction compares meta/head).
   */
  private withIndexes(ops: RequestOp[], written: readonly TailEntry[], base: number): boolean {
    const { layout: L, log } = this.s;
    const { maxOps, maxBytes } = this.s.limits;
    if (log.tail.length !== base - log.indexedRev || log.tail.length + written.length > maxOps) return false;
    const more = indexPuts(L, log.tail.length === 0 ? written : [...log.tail, ...written]);
    // maxOps leaves room for meta/head.
    if (ops.length + more.length > maxOps) return false;
    let bytes = 0;
    for (const op of ops) bytes += opBytes(op);
    for (const op of more) bytes += opBytes(op);
    if (bytes > maxBytes) return false;
    ops.push(...more);
    return true;
  }

  /**
   * The queue's first commits that fit one transaction, in order; or the first commit alone,
   * `staged`, when it does not fit one by itself.
   */
  private takeGroup(): { group: Pending[]; staged: boolean } {
    const { maxOps, maxBytes } = this.s.limits;
    const { log } = this.s;
    // The group stops short of what would keep its indexes (and those of the records before it
    // still above meta/indexed) out of its transaction: a transaction without them needs one of
    // the indexer's, and the commits made while that one is in flight would need theirs too.
    const inline = new IndexCost();
    const canInline = log.tail.length <= maxOps && log.tail.length === log.committedRev - log.indexedRev;
    if (canInline) inline.add(log.tail.map((e) => e.record));
    let ops = 0;
    let bytes = 0;
    let n = 0;
    for (const p of this.queue) {
      const size = p.records.reduce((s, r) => s + storedSize(r) + 64, 0);
      if (n > 0 && (ops + p.records.length > maxOps || bytes + size > maxBytes || p.fenced !== this.queue[0]!.fenced || p.alsoPut || this.queue[0]!.alsoPut)) break;
      if (canInline) inline.add(p.records);
      if (n > 0 && canInline && ops + p.records.length + inline.ops > maxOps) break;
      ops += p.records.length;
      bytes += size;
      n++;
    }
    const group = this.queue.splice(0, n);
    return { group, staged: ops > maxOps || bytes > maxBytes };
  }

  private refuseUnfenced(group: Pending[], why: string): void {
    const err = failedPrecondition(`${why}: only the leader of the ctmd replicas writes what the scheduler, the health loop and compaction write`);
    for (const p of group) p.reject(err);
    this.restamp();
  }

  /** After the head moved under the queue: run every waiting commit's prepare again on the new state. */
  private restamp(): void {
    this.s.stamper.reset();
    const queue = this.queue;
    this.queue = [];
    for (const p of queue) {
      try {
        const drafts = p.prepare(this.s.stamper.view, () => undefined);
        // A commit prepared in steps (a whole prefix) is not prepared again: the client retries it.
        if (drafts instanceof Promise) throw new CtmError("conflict", "another ctmd replica wrote while this commit was prepared; retry it");
        p.records = this.s.stamper.stampAll(drafts);
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
    const giveUpAt = Date.now() + this.s.callTimeoutMs;
    for (let attempt = 0; Date.now() < giveUpAt && this.s.status.open; attempt++) {
      try {
        await this.s.follower.catchUp();
        const r = await this.s.client().range({ key: this.s.layout.log(first.record.revision) });
        const kv = r.kvs[0];
        const head = readHead((await this.s.client().range({ key: this.s.layout.head })).kvs[0]?.value ?? Buffer.alloc(40));
        if (kv && head.rev >= first.record.revision && Buffer.from(kv.value).equals(first.bytes)) {
          await this.s.follower.catchUp();
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
    this.s.outage.reason = err.message;
    for (const p of [...group, ...this.queue]) p.reject(err);
    this.queue = [];
    this.restamp();
    return false;
  }

  private async resync(): Promise<void> {
    const giveUpAt = Date.now() + this.s.callTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.s.follower.catchUp();
        break;
      } catch (e) {
        if (!this.s.status.open) return;
        if (Date.now() >= giveUpAt) {
          const err = unavailable(outageText(e));
          this.s.outage.reason = err.message;
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
