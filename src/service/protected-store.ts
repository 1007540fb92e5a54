import type { Draft, LogRecord } from "@ctm/core/record";
import type { CompactionOutcome, CompactionPlan } from "../storage/compaction.js";
import type { CommitListener, LogStore, StoreStats, StoredBytes, WriteView } from "../storage/log-store.js";
import type { Pause } from "../storage/time-slices.js";
import type { VerifyReport } from "../storage/verify-report.js";
import { breakGlassAsked } from "./acting-principal.js";

/**
 * Decides each draft of a commit against the protection policies: the draft to write (marked
 * `breakGlass` only when it went past a policy that way), or a throw.
 */
export type DraftGate = (draft: Draft, breakGlass: boolean) => Draft;

/**
 * The store every service writes through: each draft of every commit passes the protection
 * policies (see PolicyService.pass) inside `prepare`, so a refusal writes nothing and no write
 * path, present or future, goes around it. Whether the caller broke the glass is read where the
 * commit begins, in the call's synchronous start, as the principal is (acting-principal.ts).
 * Everything else is the store's own.
 */
export class ProtectedStore implements LogStore {
  constructor(
    private readonly store: LogStore,
    private readonly gate: DraftGate,
  ) {}

  commit(prepare: (view: WriteView) => readonly Draft[]): Promise<LogRecord[]> {
    const breakGlass = breakGlassAsked();
    return this.store.commit((view) => prepare(view).map((d) => this.gate(d, breakGlass || d.breakGlass === true)));
  }

  commitAlone(prepare: (view: WriteView, pause: Pause) => Promise<readonly Draft[]>): Promise<LogRecord[]> {
    const breakGlass = breakGlassAsked();
    return this.store.commitAlone(async (view, pause) => (await prepare(view, pause)).map((d) => this.gate(d, breakGlass || d.breakGlass === true)));
  }

  open(): Promise<void> {
    return this.store.open();
  }
  close(): Promise<void> {
    return this.store.close();
  }
  get headRevision(): number {
    return this.store.headRevision;
  }
  get firstRevision(): number {
    return this.store.firstRevision;
  }
  get firstTime(): number {
    return this.store.firstTime;
  }
  get healthy(): boolean {
    return this.store.healthy;
  }
  get writeOutage(): string | undefined {
    return this.store.writeOutage;
  }
  get stats(): StoreStats {
    return this.store.stats;
  }
  compact(plan: CompactionPlan): Promise<CompactionOutcome> {
    return this.store.compact(plan);
  }
  get compactionRunning(): boolean {
    return this.store.compactionRunning;
  }
  latest(key: string): LogRecord | undefined {
    return this.store.latest(key);
  }
  latestUnder(prefix: string): LogRecord[] {
    return this.store.latestUnder(prefix);
  }
  eachLatest(prefix: string): Iterable<LogRecord> {
    return this.store.eachLatest(prefix);
  }
  get keyCount(): number {
    return this.store.keyCount;
  }
  pageAt(prefix: string, revision: number, limit: number, after?: string, maxBytes?: number): Promise<{ records: LogRecord[]; last?: string }> {
    return this.store.pageAt(prefix, revision, limit, after, maxBytes);
  }

  pageStoredAt(prefix: string, revision: number, limit: number, after?: string, maxBytes?: number): Promise<{ records: (LogRecord | StoredBytes)[]; last?: string }> {
    return this.store.pageStoredAt ? this.store.pageStoredAt(prefix, revision, limit, after, maxBytes) : this.store.pageAt(prefix, revision, limit, after, maxBytes);
  }
  at(key: string, revision: number): Promise<LogRecord | undefined> {
    return this.store.at(key, revision);
  }
  version(key: string, version: number): Promise<LogRecord | undefined> {
    return this.store.version(key, version);
  }
  history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    return this.store.history(key, limit, beforeRevision);
  }
  revisionAt(time: number): Promise<number> {
    return this.store.revisionAt(time);
  }
  range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    return this.store.range(from, to, limit, key);
  }
  verify(): Promise<VerifyReport> {
    return this.store.verify();
  }
  get lastVerification(): VerifyReport | undefined {
    return this.store.lastVerification;
  }
  get refusal() {
    return this.store.refusal;
  }
  get syncToHead(): (() => Promise<void>) | undefined {
    const s = this.store;
    return s.syncToHead && (() => s.syncToHead!());
  }
  onCommit(listener: CommitListener): () => void {
    return this.store.onCommit(listener);
  }
  readNote(name: string): Promise<Buffer | undefined> {
    return this.store.readNote(name);
  }
  writeNote(name: string, value: Buffer): Promise<void> {
    return this.store.writeNote(name, value);
  }
  writeNotes(notes: readonly (readonly [string, Buffer])[]): Promise<void> {
    return this.store.writeNotes(notes);
  }
  notes(prefix: string): AsyncIterable<[string, Buffer]> {
    return this.store.notes(prefix);
  }
  notesUnder(prefixes: readonly string[]): AsyncIterable<[string, Buffer]> {
    return this.store.notesUnder(prefixes);
  }
}
