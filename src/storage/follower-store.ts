import { CtmError, unavailable } from "../domain/errors.js";
import type { LogRecord } from "@ctm/core/record";
import type { CompactionOutcome, Horizon } from "./compaction.js";
import type { CommitListener, LogStore, StoreStats, WriteView } from "./log-store.js";
import type { VerifyReport } from "./verify-report.js";
import { notifyListeners } from "./notify-listeners.js";

/** The reads a follower cannot answer from memory: the writer's history, asked for over a link. */
export type WriterReads = Pick<LogStore, "pageAt" | "at" | "version" | "history" | "revisionAt" | "range" | "readNote">;

/**
 * A read-only copy of a writer's store. It holds the latest record of every key, applies the
 * writer's committed batches in revision order, and tells its listeners as the writer's store
 * does; history reads go to the writer. Writes are not its to make: a follower's callers send
 * them to the writer.
 */
export class FollowerStore implements LogStore {
  private readonly latestByKey = new Map<string, LogRecord>();
  private readonly listeners = new Set<CommitListener>();
  /** Callers waiting for the follower to reach a revision. */
  private waiters: { revision: number; resolve: () => void }[] = [];
  private head = 0;
  private first: Horizon = { revision: 1, time: 0 };
  private failure: CtmError | undefined;
  private applied = { batches: 0, records: 0 };
  onListenerError: ((e: Error) => void) | undefined;
  /** Told once when the follower loses its place in the writer's stream: it can only start over. */
  onLost: ((e: CtmError) => void) | undefined;

  constructor(private readonly writer: WriterReads) {}

  /** Takes the writer's latest records as they stood at `revision`, before any batch is applied. */
  load(records: readonly LogRecord[], revision: number, first: Horizon): void {
    for (const r of records) this.latestByKey.set(r.key, r);
    this.head = Math.max(this.head, revision);
    this.raiseHorizon(first);
  }

  /** Follows the writer's horizon: it only ever rises. */
  raiseHorizon(first: Horizon): void {
    if (first.revision > this.first.revision) this.first = first;
  }

  /** Applies one committed batch. A batch out of order means the link lost one: the follower stops serving. */
  apply(records: readonly LogRecord[]): void {
    if (records.length === 0 || this.failure) return;
    const from = records[0]!.revision;
    if (from !== this.head + 1) {
      const lost = unavailable(`this follower expected revision ${this.head + 1} and was sent ${from}; it must restart`);
      this.fail(lost);
      this.onLost?.(lost);
      return;
    }
    for (const r of records) this.latestByKey.set(r.key, r);
    this.head = records[records.length - 1]!.revision;
    this.applied.batches++;
    this.applied.records += records.length;
    notifyListeners(this.listeners, records, this.onListenerError);
    if (this.waiters.length > 0) {
      const ready = this.waiters.filter((w) => w.revision <= this.head);
      this.waiters = this.waiters.filter((w) => w.revision > this.head);
      for (const w of ready) w.resolve();
    }
  }

  /** Refuses every later call with `error` (a lost link, a gap). */
  fail(error: CtmError): void {
    this.failure ??= error;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  /**
   * Resolves once this follower has applied `revision`: a read after a write the writer
   * acknowledged at that revision then sees it. Gives up, UNAVAILABLE, after `timeoutMs`.
   */
  caughtUp(revision: number, timeoutMs: number): Promise<void> | undefined {
    if (revision <= this.head || this.failure) return undefined;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(unavailable(`this worker has not caught up with revision ${revision} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {
    this.fail(unavailable("store is closed"));
  }

  get headRevision(): number {
    return this.head;
  }

  get firstRevision(): number {
    return this.first.revision;
  }

  get firstTime(): number {
    return this.first.time;
  }

  get compactionRunning(): boolean {
    return false;
  }

  compact(): Promise<CompactionOutcome> {
    return Promise.reject(unavailable("a follower does not compact: the writer does"));
  }

  get healthy(): boolean {
    return this.failure === undefined;
  }

  get refusal(): CtmError | undefined {
    return this.failure;
  }

  get stats(): StoreStats {
    return { openLogReads: 0, ...this.applied };
  }

  get lastVerification(): VerifyReport | undefined {
    return undefined;
  }

  get keyCount(): number {
    return this.latestByKey.size;
  }

  commit(_prepare: (view: WriteView) => unknown): Promise<LogRecord[]> {
    return Promise.reject(unavailable("a follower does not write: writes go to the writer"));
  }

  commitAlone(): Promise<LogRecord[]> {
    return Promise.reject(unavailable("a follower does not write: writes go to the writer"));
  }

  latest(key: string): LogRecord | undefined {
    return this.latestByKey.get(key);
  }

  latestUnder(prefix: string): LogRecord[] {
    return [...this.eachLatest(prefix)].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  *eachLatest(prefix: string): Iterable<LogRecord> {
    for (const [k, r] of this.latestByKey) if (k.startsWith(prefix)) yield r;
  }

  pageAt(...args: Parameters<LogStore["pageAt"]>): ReturnType<LogStore["pageAt"]> {
    return this.read(() => this.writer.pageAt(...args));
  }

  at(key: string, revision: number): Promise<LogRecord | undefined> {
    return this.read(() => this.writer.at(key, revision));
  }

  version(key: string, version: number): Promise<LogRecord | undefined> {
    return this.read(() => this.writer.version(key, version));
  }

  history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    return this.read(() => this.writer.history(key, limit, beforeRevision));
  }

  revisionAt(time: number): Promise<number> {
    return this.read(() => this.writer.revisionAt(time));
  }

  range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    return this.read(() => this.writer.range(from, to, limit, key));
  }

  verify(): Promise<VerifyReport> {
    return Promise.reject(unavailable("the writer checks the log, not a follower"));
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  readNote(name: string): Promise<Buffer | undefined> {
    return this.read(() => this.writer.readNote(name));
  }

  writeNote(): Promise<void> {
    return Promise.reject(unavailable("a follower does not write: writes go to the writer"));
  }

  writeNotes(): Promise<void> {
    return Promise.reject(unavailable("a follower does not write: writes go to the writer"));
  }

  async *notes(): AsyncGenerator<[string, Buffer]> {
    throw unavailable("a follower keeps no notes: the writer does");
  }

  async *notesUnder(): AsyncGenerator<[string, Buffer]> {
    throw unavailable("a follower keeps no notes: the writer does");
  }

  private read<T>(f: () => Promise<T>): Promise<T> {
    return this.failure ? Promise.reject(this.failure) : f();
  }
}
