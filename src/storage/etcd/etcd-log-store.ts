import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { Clock } from "../../domain/clock.js";
import { CtmError, failedPrecondition, unavailable } from "../../domain/errors.js";
import type { Draft, LogRecord } from "@ctm/core/record";
import { checkCompaction, type CompactionOutcome, type CompactionPlan } from "../compaction.js";
import type { CommitListener, LogStore, StoreStats, WriteView } from "../log-store.js";
import type { Pause } from "../time-slices.js";
import type { VerifyReport } from "../verify-report.js";
import type { WatchRequest, WatchResponse } from "../../gen/etcd/etcdserverpb/rpc.js";
import { AppliedLog } from "./applied-log.js";
import { EtcdClient, type EtcdConnection } from "./etcd-client.js";
import { EtcdCommitter } from "./etcd-committer.js";
import { EtcdFollower } from "./etcd-follower.js";
import { EtcdIndexer } from "./etcd-indexer.js";
import { EtcdLayout, prefixEnd } from "./etcd-layout.js";
import { EtcdReader } from "./etcd-reader.js";
import { EtcdElection, stillLeads, type ElectionEvents } from "./etcd-election.js";
import { isLeaderOnly } from "../leader-only.js";
import { compactEtcd, type CompactionSite } from "./etcd-compaction.js";
import { decodeHorizon, encodeHorizon } from "./etcd-horizon.js";
import { errorText } from "./error-text.js";
import { loadFromHeads } from "./load-from-heads.js";
import { RecordStamper } from "./record-stamper.js";
import { ServedHorizon } from "./served-horizon.js";
import { StoreStatus } from "./store-status.js";
import { cmpCreate, put } from "./etcd-ops.js";
import { etcdPages } from "./etcd-pages.js";
import { etcdNotesUnder } from "./etcd-notes.js";
import { verifyEtcdLog } from "./etcd-verify.js";
import { DEFAULT_TXN_OPS, txnLimits, type TxnLimits } from "./txn-limits.js";
import { WriteOutage } from "./write-outage.js";
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

/**
 * The LogStore on an etcd cluster, for several ctmd replicas that share one log.
 *
 * A commit is one etcd transaction: it compares meta/head's mod revision with the one this
 * replica last applied, and puts the records and the new head. When another replica committed
 * first, the comparison fails; this replica reads what it missed, runs the waiting commits'
 * `prepare` again against the new state and tries again, so the revision stays global and
 * gap-free and a conflict never reaches a client. Indexes are derived data: the replica that
 * committed writes them in the same transaction when they fit, else right after (meta/indexed
 * says how far they go), reads above that come from the records it holds in memory, and any
 * replica finishes what a dead one left.
 * Other replicas follow through an etcd watch on the log and meta/head.
 *
 * The parts: the log as applied here (AppliedLog), the stamping of drafts (RecordStamper), the
 * commit queue (EtcdCommitter), the watch on other replicas' commits (EtcdFollower), the
 * indexer (EtcdIndexer), reads of the past (EtcdReader) and the write-outage probe (WriteOutage).
 */
export class EtcdLogStore implements LogStore {
  private readonly layout: EtcdLayout;
  private client!: EtcdClient;
  private readonly limits: TxnLimits;
  private readonly log = new AppliedLog();
  private readonly status = new StoreStatus();
  private readonly stamper: RecordStamper;
  private readonly committer: EtcdCommitter;
  private readonly follower: EtcdFollower;
  private readonly indexer: EtcdIndexer;
  private readonly reader: EtcdReader;
  private readonly outage: WriteOutage;
  private readonly listeners = new Set<CommitListener>();
  private readonly counters = { openLogReads: 0, batches: 0, records: 0 };
  private verification: VerifyReport | undefined;
  private election: EtcdElection | undefined;
  /** The oldest revision served (meta/horizon): compaction raises it before anything leaves. */
  private readonly horizon: ServedHorizon;
  private compacting = false;
  private readonly closing = new AbortController();
  /** Told when a commit listener throws (set by the composition root); without it, a process warning. */
  onListenerError: ((error: Error) => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly opts: EtcdLogStoreOptions,
  ) {
    this.layout = new EtcdLayout(opts.prefix);
    const client = (): EtcdClient => this.client;
    const notify = (records: LogRecord[]): void => this.notify(records);
    this.horizon = new ServedHorizon(client, this.layout);
    this.limits = txnLimits(opts);
    this.stamper = new RecordStamper(clock, this.log);
    this.follower = new EtcdFollower(client, this.layout, this.horizon, this.log, this.stamper, this.status, notify);
    this.indexer = new EtcdIndexer(client, this.layout, this.log, this.status, this.limits.maxOps);
    this.reader = new EtcdReader(client, this.layout, this.horizon, this.log);
    this.outage = new WriteOutage(client, this.layout, this.status);
    this.committer = new EtcdCommitter({
      client,
      layout: this.layout,
      limits: this.limits,
      log: this.log,
      stamper: this.stamper,
      follower: this.follower,
      indexer: this.indexer,
      outage: this.outage,
      status: this.status,
      counters: this.counters,
      election: () => this.election,
      notify,
      callTimeoutMs: this.callTimeoutMs,
    });
  }

  get headRevision(): number {
    return this.log.committedRev;
  }
  get firstRevision(): number {
    return this.horizon.current.revision;
  }
  get firstTime(): number {
    return this.horizon.current.time;
  }
  get healthy(): boolean {
    return this.status.open && !this.status.failure;
  }
  get refusal(): CtmError | undefined {
    return this.status.failure;
  }
  get writeOutage(): string | undefined {
    return this.outage.reason;
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
    return this.log.keyCount;
  }

  /** The follower's watch stream, while it has one (tests pause it to hold back what it brings). */
  private get watch(): ClientDuplexStream<WatchRequest, WatchResponse> | undefined {
    return this.follower.watch;
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
    const { at, rev } = await loadFromHeads(this.client, this.layout, this.horizon, this.log, this.counters);
    this.stamper.start(rev + 1);
    this.status.open = true;
    this.follower.follow(at + 1n);
    this.indexer.start(this.opts.indexLagMs ?? 2000);
    this.outage.start();
  }

  async close(): Promise<void> {
    if (!this.status.open) return;
    // A compaction stops at its next step; the next one finishes what it left (see compactEtcd).
    this.closing.abort();
    while (this.compacting) await sleep(5);
    await this.election?.close();
    while (this.committer.flushing) await this.committer.whenDrained();
    await this.indexer.index();
    this.status.open = false;
    this.indexer.stop();
    this.outage.stop();
    this.follower.stop();
    this.client.close();
  }

  /** Removes every key of this store from etcd: for tests and `ctmd` tooling, never on a path a client reaches. */
  async destroy(): Promise<void> {
    const [from, to] = this.layout.everything;
    const client = this.status.open ? this.client : new EtcdClient(this.opts.connection);
    await client.deleteRange({ key: from, rangeEnd: to });
    if (!this.status.open) client.close();
  }

  commit(prepare: (view: WriteView) => readonly Draft[]): Promise<LogRecord[]> {
    return this.committer.commitAs(prepare, isLeaderOnly());
  }

  commitAlone(prepare: (view: WriteView, pause: Pause) => Promise<readonly Draft[]>): Promise<LogRecord[]> {
    return this.committer.commitAlone(prepare);
  }

  /**
   * Compacts the log below `plan.horizon` (see compactEtcd). Compaction is the leader's: on a
   * store with an election every write it makes is fenced by the leadership, whoever asks.
   */
  async compact(plan: CompactionPlan): Promise<CompactionOutcome> {
    if (this.status.failure) throw this.status.failure;
    if (!this.status.open) throw unavailable("store is closed");
    checkCompaction(plan, this.log.committedRev, this.firstRevision, this.compacting);
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
      maxTxnOps: this.limits.maxOps,
      maxTxnBytes: this.limits.maxBytes,
      fencing: () => {
        if (!fenced) return [];
        const fence = this.election!.fence;
        // Deposed while it ran: a comparison that cannot hold, so the write is refused in etcd.
        return [cmpCreate(this.layout.leader, fence ? fence.createRevision : -1n)];
      },
      refused: async (step) => {
        const fence = this.election?.fence;
        if (fenced && (!fence || !(await stillLeads(this.client, fence)))) return this.notLeading(`this replica no longer leads, so the compaction did not ${step}`);
        return failedPrecondition(`another compaction changed the horizon meanwhile, so this one did not ${step}`);
      },
      latest: (key) => this.log.committed.get(key),
      raise: (h) => this.horizon.raise(h),
      commitReport: async (report, h) => (await this.committer.commitAs(() => [report], fenced, [[this.layout.horizon, encodeHorizon(h)]]))[0]!,
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
    while (this.log.indexedRev < revision) {
      await this.indexer.index();
      if (this.log.indexedRev >= revision) return;
      this.closing.signal.throwIfAborted();
      if (Date.now() > giveUpAt) throw unavailable(`etcd's indexes end at revision ${this.log.indexedRev}, below the compaction horizon ${revision}; the compaction is retried at its next run`);
      await sleep(50);
    }
  }

  async verify(): Promise<VerifyReport> {
    const report = await verifyEtcdLog(this.client, this.layout);
    this.verification = report;
    return report;
  }

  latest(key: string): LogRecord | undefined {
    return this.log.latest(key);
  }

  eachLatest(prefix: string): Iterable<LogRecord> {
    return this.log.eachLatest(prefix);
  }

  latestUnder(prefix: string): LogRecord[] {
    return this.log.latestUnder(prefix);
  }

  pageAt(prefix: string, revision: number, limit: number, after?: string, maxBytes = Infinity): Promise<{ records: LogRecord[]; last?: string }> {
    return this.reader.pageAt(prefix, revision, limit, after, maxBytes);
  }

  at(key: string, revision: number): Promise<LogRecord | undefined> {
    return this.reader.at(key, revision);
  }

  version(key: string, version: number): Promise<LogRecord | undefined> {
    return this.reader.version(key, version);
  }

  history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    return this.reader.history(key, limit, beforeRevision);
  }

  revisionAt(time: number): Promise<number> {
    return this.reader.revisionAt(time);
  }

  range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    return this.reader.range(from, to, limit, key);
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

  /**
   * Starts campaigning to lead the replicas of this store: `elected` and `deposed` start and stop
   * the loops, whose commits are then fenced by the leadership (see leaderOnly).
   */
  campaign(id: string, ttlSeconds: number, events: ElectionEvents): EtcdElection {
    this.election = new EtcdElection(this.client, this.layout.leader, id, ttlSeconds, events);
    this.election.start();
    return this.election;
  }

  /** Reads etcd's head after the call and applies everything up to it (a consistent read). */
  async syncToHead(): Promise<void> {
    if (this.status.failure) throw this.status.failure;
    if (!this.status.open) throw unavailable("store is closed");
    try {
      await this.follower.syncToHead();
    } catch (e) {
      throw unavailable(`etcd did not answer a consistent read (${errorText(e)}): read without consistent to be answered from memory`);
    }
  }

  private get callTimeoutMs(): number {
    return this.opts.connection.callTimeoutMs ?? 10_000;
  }

  private notify(records: LogRecord[]): void {
    notifyListeners(this.listeners, records, this.onListenerError);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
