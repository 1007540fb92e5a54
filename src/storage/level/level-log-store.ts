import { ClassicLevel as Level } from "classic-level";
import type { Clock } from "../../domain/clock.js";
import { join, resolve } from "node:path";
import { CtmError, outOfRange, unavailable } from "../../domain/errors.js";
import { makeRecord, type Draft, type KeyHead, type LogRecord } from "@ctm/core/record";
import { checkCompaction, compactionTally, type CompactionOutcome, type CompactionPlan, type Horizon } from "../compaction.js";
import type { CommitListener, LogStore, StoreStats, StoredBytes, WriteView } from "../log-store.js";
import { timeSlices, type Pause } from "../time-slices.js";
import type { VerifyReport } from "../verify-report.js";
import { keyNum, MAX_U64, readU64, timeRev, u64 } from "./codec.js";
import { writeWitness } from "./head-witness.js";
import { witnessProblem } from "./witness-check.js";
import { META, PREFIX, prefixed, sectionRange, type Sublevel } from "./layout.js";
import { verifyThreaded } from "./verify-threaded.js";
import { verifyLog } from "./log-verifier.js";
import { decodeRecord, encodeLogValue, GENESIS, recordHash } from "./record-bytes.js";
import { openFailure } from "./open-failure.js";
import { inspectDataDir } from "./store-directory.js";
import { RevisionIndex } from "./revision-index.js";
import { LevelPages } from "./level-pages.js";
import { HeadRecords, type StagedHeads } from "./head-records.js";
import { BatchWriter, type ThreadedBatch } from "./batch-writer.js";
import { PastReader } from "./past-reader.js";
import { unpackRecords } from "./head-chunk.js";
import { readHeadsThreaded } from "./read-heads-threaded.js";
import { readArchive, removeArchive, writeArchive } from "./archive-file.js";
import { filesSize } from "./directory-size.js";
import { applyEntries, belowDigest, compactable, decodeCompacted, decodeIntent, encodeMeta, storedBelow, type CompactedBelow, type CompactionIntent } from "./compactor.js";
import { notifyListeners } from "../notify-listeners.js";
import { encodeUnfinished, undoUnfinishedWrite, type UnfinishedWrite } from "./unfinished-write.js";
import { disjointPrefixes } from "../disjoint-prefixes.js";

/** 2: every log value carries the hash of the record before it. */
const SCHEMA_VERSION = 2;

export interface LevelLogStoreOptions {
  /**
   * At open, check the records written since the last start ("tail"), every record ("full"),
   * or every record of a store of at most AUTO_FULL_LIMIT revisions and the tail of a larger one ("auto").
   */
  verifyOnOpen: "auto" | "tail" | "full";
  /** How often the head witness follows the head; 0 writes it only at close. */
  witnessIntervalMs: number;
  /**
   * Keep every key's revisions in memory for pages at past revisions: built at open for a store
   * of at most AUTO_FULL_LIMIT revisions, after open in the background for a larger one ("auto"),
   * or always in the background; "off" reads the key index for every page.
   */
  revisionIndex?: "auto" | "background" | "off";
  /** Where compaction writes its archives; `<data dir>/archive` when unset. */
  archiveDir?: string;
  /**
   * Read the keys' heads at open from a worker thread while this one decodes them ("thread"),
   * on this thread alone ("inline"), or from a thread for a store of more than AUTO_FULL_LIMIT
   * revisions ("auto", the default: a thread costs more than it saves on a small store).
   */
  headReader?: "auto" | "thread" | "inline";
  /** A batch of at least this many records is built and written on a worker thread (see BatchWriter); default THREADED_BATCH. */
  threadedBatch?: number;
  /** A threaded batch of more records than this is written in parts of this many (see writeThreaded); default BATCH_PART. */
  batchPart?: number;
  /** Past Snapshot pages read their records on a thread of their own (PastReader); default true. */
  pastReader?: boolean;
}

export const LEVEL_STORE_DEFAULTS: LevelLogStoreOptions = { verifyOnOpen: "auto", witnessIntervalMs: 1000 };

/** Up to here a full check at open takes about a second or two on a small machine. */
export const AUTO_FULL_LIMIT = 50_000;

/**
 * Directories a store of this process holds open. The store opens LevelDB shareable between
 * threads (for the head reader), so LevelDB's lock no longer stops a second store here.
 */
const openHere = new Set<string>();

type Bytes = Buffer;
/** What fill() writes into: LevelDB's own batch, or one written on a worker thread. */
type BatchSink = Pick<ReturnType<Level<Bytes, Bytes>["batch"]>, "put" | "del"> | ThreadedBatch;

interface Pending {
  records: LogRecord[];
  /** Meta entries written in the same batch as the records (a compaction's result). */
  meta?: { put: [Buffer, Buffer][]; del: Buffer[] };
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
 *   meta!schema|head     -> number; meta!hash -> the chain's tip; meta!checkpoint -> rev + hash
 *   meta!unfinished      -> first + last rev of a batch whose parts are still being written
 *   note!<name>          -> bytes     (operational notes, outside the chain: see LogStore.readNote)
 * A record and all its index entries go into one atomic batch (a large one is built and written
 * on a worker thread, in parts that become durable and visible together: see writeThreaded). Each
 * log value carries the SHA-256 of the record before it (see record-bytes.ts), so the history
 * can be verified.
 */
export class LevelLogStore implements LogStore {
  // Made in open(): a LevelDB instance opens itself a tick after construction, with
  // create_if_missing, before the directory could be looked at.
  private db!: Level<Bytes, Bytes>;
  private log!: Sublevel;
  private keyIdx!: Sublevel;
  private verIdx!: Sublevel;
  private timeIdx!: Sublevel;
  private headIdx!: Sublevel;
  private readonly put: Record<"log" | "key" | "ver" | "time" | "head" | "meta", (key: Bytes) => Bytes>;

  /** Durable, visible state: what readers see. */
  private readonly committed = new HeadRecords();
  /** Writer state: committed plus in-flight, for versions and compare-and-set. */
  private readonly writer = new Map<string, KeyHead>();
  private committedRev = 0;
  private nextRev = 1;
  private lastTime = 0;
  private queue: Pending[] = [];
  private flushing = false;
  /** Set while commitAlone prepares: other commits wait in `waiting`, in order. */
  private alone = false;
  private waiting: (() => void)[] = [];
  /** Set once the store can no longer be trusted: every later call is refused with it. */
  private failure: CtmError | undefined;
  private isOpen = false;
  private readonly listeners = new Set<CommitListener>();
  private counters = { openLogReads: 0, batches: 0, records: 0, witnessErrors: 0, threadedBatches: 0, batchParts: 0, threadedPages: 0, undoneRecords: 0 };
  /** The hash of the newest record put into a batch (being written included), and of the newest durable one. */
  private lastHash: Buffer = GENESIS;
  private committedHash: Buffer = GENESIS;
  private chainFrom = 1;
  private witnessTimer: NodeJS.Timeout | undefined;
  private witnessing: Promise<void> | undefined;
  private witnessed = 0;
  private verifying: Promise<VerifyReport> | undefined;
  private readonly closing = new AbortController();
  private revIndex: RevisionIndex | undefined;
  /** Snapshot's pages, read from this store's sections. */
  private pages!: LevelPages;
  /** What open took out of a batch that a stop left unfinished (see undoUnfinishedWrite), if anything. */
  undoneWrite: (UnfinishedWrite & { removed: number }) | undefined;
  /** The worker thread large batches are written from; it ends when idle (see BatchWriter). */
  private batchWriter: BatchWriter | undefined;
  private pastReader: PastReader | undefined;
  /** The oldest revision answered; raised by compaction before it removes anything. */
  private horizon: Horizon = { revision: 1, time: 0 };
  private compacting = false;
  /** A compaction found finished at open whose report record is still to be appended. */
  private unreported: CompactionIntent | undefined;
  /** A compaction that a stop cut short after it published its horizon, finished by this open. */
  resumedCompaction: CompactionOutcome | undefined;
  /** Records filled into a batch while the revision index is built, for it to take in once built. */
  private indexPending: LogRecord[] | undefined;
  /** Settles once the revision index is built (or was not asked for, or the build failed). */
  revisionIndexBuilt: Promise<void> = Promise.resolve();
  /** How many keys the revision index holds; undefined until it is built (or when it is not). */
  get revisionIndexKeys(): number | undefined {
    return this.revIndex?.size;
  }
  /** The result of the last check of the log: at open, or by verify(). */
  lastVerification: VerifyReport | undefined;

  constructor(
    readonly location: string,
    private readonly clock: Clock,
    private readonly opts: LevelLogStoreOptions = LEVEL_STORE_DEFAULTS,
  ) {
    // Writes skip the sublevel machinery (a measurable share of Set's CPU) and put
    // prefixed keys on the root: the same bytes a sublevel would write.
    const prefix = (name: string) => {
      const p = Buffer.from(`!${name}!`, "latin1");
      return (key: Bytes): Bytes => Buffer.concat([p, key]);
    };
    this.put = { log: prefix("log"), key: prefix("key"), ver: prefix("ver"), time: prefix("time"), head: prefix("head"), meta: prefix("meta") };
  }

  private attach(kind: "new" | "store"): void {
    this.db = new Level<Bytes, Bytes>(this.location, { keyEncoding: "buffer", valueEncoding: "buffer", createIfMissing: kind === "new" });
    const sub = (name: string): Sublevel => this.db.sublevel<Bytes, Bytes>(name, { keyEncoding: "buffer", valueEncoding: "buffer" });
    this.log = sub("log");
    this.keyIdx = sub("key");
    this.verIdx = sub("ver");
    this.timeIdx = sub("time");
    this.headIdx = sub("head");
    this.pages = new LevelPages({
      log: this.log,
      keyIdx: this.keyIdx,
      headIdx: this.headIdx,
      committed: this.committed,
      revIndex: () => this.revIndex,
      pastReader: () => (this.opts.pastReader === false || !this.isOpen ? undefined : (this.pastReader ??= new PastReader(resolve(this.location)))),
      threadedPage: () => void this.counters.threadedPages++,
      committedRev: () => this.committedRev,
      stillServed: (revision) => this.stillServed(revision),
      readFailure: (e) => this.readFailure(e),
    });
  }

  get headRevision(): number {
    return this.committedRev;
  }
  get firstRevision(): number {
    return this.horizon.revision;
  }
  get firstTime(): number {
    return this.horizon.time;
  }
  get healthy(): boolean {
    return this.isOpen && this.failure === undefined;
  }
  /** Why the store refuses to serve, once it does (a failed check, a failed write, a damaged read). */
  get refusal(): CtmError | undefined {
    return this.failure;
  }
  get stats(): StoreStats {
    return { ...this.counters };
  }

  async open(): Promise<void> {
    const kind = inspectDataDir(this.location);
    const where = resolve(this.location);
    if (openHere.has(where)) throw openFailure(this.location, { code: "LEVEL_LOCKED" });
    this.attach(kind);
    try {
      await this.db.open({ createIfMissing: kind === "new", multithreading: true } as Parameters<typeof this.db.open>[0]);
    } catch (e) {
      throw openFailure(this.location, e);
    }
    openHere.add(where);
    try {
      await this.load(kind);
    } catch (e) {
      await this.db.close();
      openHere.delete(where);
      throw e;
    }
    this.isOpen = true;
    if (this.unreported) {
      const intent = this.unreported;
      this.unreported = undefined;
      await this.publish(intent);
    }
    const index = this.opts.revisionIndex ?? "auto";
    if (index === "auto" && this.committedRev <= AUTO_FULL_LIMIT) await this.buildRevisionIndex();
    else if (index !== "off") this.revisionIndexBuilt = this.buildRevisionIndex();
    this.witnessed = this.committedRev;
    if (this.opts.witnessIntervalMs > 0) {
      this.witnessTimer = setInterval(() => void this.refreshWitness(), this.opts.witnessIntervalMs);
      this.witnessTimer.unref();
    }
  }

  /** Reads meta, checks the store against its witness and its tail, then loads every key's head. */
  private async load(kind: "new" | "store"): Promise<void> {
    const [schema, head, hash, chain, checkpoint, intentBytes] = await this.db.getMany([META.schema, META.head, META.hash, META.chain, META.checkpoint, META.compacting]);
    if (schema === undefined) {
      if (kind === "store") throw this.damaged(undefined, "its meta section names no schema");
      await this.db.batch(
        [
          { type: "put", key: META.schema, value: u64(SCHEMA_VERSION) },
          { type: "put", key: META.chain, value: u64(1) },
        ],
        { sync: true },
      );
      this.lastVerification = await verifyLog(this.db, { scope: "full", from: 1, prevHash: GENESIS, chainFrom: 1 });
      return;
    }
    const headRev = head === undefined ? 0 : readU64(head);
    let chainFrom = chain === undefined ? 1 : readU64(chain);
    const version = readU64(schema);
    if (version === 1) {
      // Written before the hash chain: records from the next revision on carry it.
      chainFrom = headRev + 1;
      await this.db.batch(
        [
          { type: "put", key: META.schema, value: u64(SCHEMA_VERSION) },
          { type: "put", key: META.chain, value: u64(chainFrom) },
        ],
        { sync: true },
      );
    } else if (version !== SCHEMA_VERSION) {
      throw new CtmError("failed_precondition", `${this.location} holds a store of schema ${version}; this ctmd reads schema ${SCHEMA_VERSION}`);
    }
    this.chainFrom = chainFrom;

    // A batch written in parts that never got its last one: none of it was acknowledged.
    try {
      this.undoneWrite = await undoUnfinishedWrite(this.db, headRev);
      if (this.undoneWrite !== undefined) this.counters.undoneRecords = this.undoneWrite.removed;
    } catch (e) {
      throw this.damaged(headRev + 1, `an unfinished batch could not be taken out (${e instanceof Error ? e.message : String(e)})`);
    }

    const compacted = await this.db.get(META.compact);
    const intent = intentBytes === undefined ? undefined : decodeIntent(intentBytes);
    await this.checkWitness(headRev, Math.max(compacted === undefined ? 1 : decodeCompacted(compacted).horizon, intent?.horizon ?? 1));
    if (intent !== undefined) await this.finishCompaction(intent);
    const finished = intent === undefined ? compacted : await this.db.get(META.compact);
    if (finished !== undefined) {
      const c = decodeCompacted(finished);
      this.horizon = { revision: c.horizon, time: c.time };
    }
    const full = this.opts.verifyOnOpen === "full" || (this.opts.verifyOnOpen === "auto" && headRev <= AUTO_FULL_LIMIT);
    const cp = checkpoint === undefined || full ? { rev: 0, hash: GENESIS } : { rev: readU64(checkpoint), hash: checkpoint.subarray(8) };
    if (cp.rev > headRev) throw this.damaged(headRev + 1, `revisions ${headRev + 1}..${cp.rev} were checked at an earlier start and are gone`);
    // A tail check that would start below a horizon set since the last start starts at it: the
    // compaction that set it has just vouched for what lies below (a full check reads it all).
    const from = cp.rev === 0 ? 1 : Math.max(cp.rev + 1, this.horizon.revision);
    const report = await verifyLog(this.db, { scope: cp.rev === 0 ? "full" : "tail", from, prevHash: cp.hash, chainFrom });
    this.lastVerification = report;
    if (!report.ok) throw this.damaged(report.firstBadRevision, report.reason ?? "verification failed");
    this.committedRev = report.to;
    this.nextRev = this.committedRev + 1;
    this.lastHash = this.committedHash = hash ?? (headRev === 0 ? GENESIS : recordHash((await this.db.get(prefixed("log", u64(headRev))))!));

    // O(keys): one head entry per key, and a multi-get of those records, a batch at a time so
    // that the raw bytes of every key never sit in memory at once.
    this.counters.openLogReads = 0;
    const reader = this.opts.headReader ?? "auto";
    if (reader === "thread" || (reader === "auto" && this.committedRev > AUTO_FULL_LIMIT)) {
      await readHeadsThreaded(resolve(this.location), (chunk) => {
        this.counters.openLogReads += unpackRecords(chunk, (bytes, rev) => this.loadHead(bytes, rev));
      });
    } else {
      const heads = this.headIdx.values();
      try {
        for (;;) {
          const revs = await heads.nextv(OPEN_READ_BATCH);
          if (revs.length === 0) break;
          const raw = await this.log.getMany(revs);
          this.counters.openLogReads += raw.length;
          for (let i = 0; i < raw.length; i++) this.loadHead(raw[i], revs[i]!);
        }
      } finally {
        await heads.close();
      }
    }
    // What this start checked is where the next start's check begins.
    await this.db.put(META.checkpoint, Buffer.concat([u64(this.committedRev), this.committedHash]), { sync: true });
  }

  /** Takes one key's head record read at open: its stored bytes (undefined when the log lacks them) and revision. */
  private loadHead(bytes: Uint8Array | undefined, rev: Uint8Array): void {
    if (bytes === undefined) throw this.damaged(readU64(rev), "the head index names a record the log lacks");
    let r: LogRecord;
    try {
      r = decodeRecord(bytes);
    } catch {
      throw this.damaged(readU64(rev), "record does not decode");
    }
    this.committed.set(r);
    this.writer.set(r.key, r);
    if (r.time > this.lastTime) this.lastTime = r.time;
  }

  private async checkWitness(headRev: number, horizon: number): Promise<void> {
    const problem = await witnessProblem(this.db, this.location, headRev, horizon);
    if (problem) throw this.damaged(problem.revision, problem.reason);
  }

  private damaged(revision: number | undefined, reason: string): CtmError {
    const at = revision === undefined ? "" : ` at revision ${revision}`;
    const keep = revision !== undefined && revision > 1 ? ` to keep revisions 1..${revision - 1}` : "";
    return new CtmError(
      "data_loss",
      `store in ${this.location} failed verification${at}: ${reason}; see \`ctmd verify --data-dir ${this.location}\`, or run \`ctmd repair --data-dir ${this.location}\`${keep}`,
    );
  }

  /** Writes the witness when the head moved; never two at once. */
  private async refreshWitness(): Promise<void> {
    if (this.witnessing || this.committedRev === this.witnessed || this.failure) return;
    const w = { revision: this.committedRev, hash: this.committedHash.toString("hex") };
    this.witnessing = writeWitness(this.location, w)
      .then(() => {
        this.witnessed = w.revision;
      })
      .catch(() => {
        this.counters.witnessErrors++;
      })
      .finally(() => {
        this.witnessing = undefined;
      });
    await this.witnessing;
  }

  /**
   * Checks the whole log on a snapshot while the store serves, from a worker thread. A failed
   * check fails the store: it stops serving.
   */
  async verify(): Promise<VerifyReport> {
    if (!this.isOpen) throw unavailable("store is closed");
    this.verifying ??= verifyThreaded(resolve(this.location), { scope: "full", from: 1, prevHash: GENESIS, chainFrom: this.chainFrom }, this.closing.signal)
      .then((report) => {
        this.lastVerification = report;
        if (!report.ok) this.failure ??= this.damaged(report.firstBadRevision, report.reason ?? "verification failed");
        return report;
      }, (e: unknown) => {
        throw this.closing.signal.aborted ? unavailable("the store closed during the check") : e;
      })
      .finally(() => {
        this.verifying = undefined;
      });
    return this.verifying;
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    clearInterval(this.witnessTimer);
    this.closing.abort();
    // Let in-flight batches finish so every acknowledged write is durable.
    while (this.alone || this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    // A compaction stops at its next step; what it left undone is finished at the next open.
    while (this.compacting) await new Promise((r) => setTimeout(r, 5));
    await this.verifying?.catch(() => undefined);
    await this.witnessing;
    await this.revisionIndexBuilt;
    // Before this thread's handle: the writer's and the reader's share it.
    await this.batchWriter?.close();
    await this.pastReader?.close();
    if (!this.failure) {
      await this.db.put(META.checkpoint, Buffer.concat([u64(this.committedRev), this.committedHash]), { sync: true });
      // Compacting meta's range flushes LevelDB's memtable into a table, so a clean stop
      // leaves nothing in LevelDB's own log for damage there to take away unnoticed.
      await this.db.compactRange(sectionRange("meta").gte, sectionRange("meta").lt);
    }
    await this.db.close();
    openHere.delete(resolve(this.location));
    if (!this.failure) await writeWitness(this.location, { revision: this.committedRev, hash: this.committedHash.toString("hex") });
  }

  commit(prepare: (view: WriteView) => readonly Draft[]): Promise<LogRecord[]> {
    return this.submit(prepare);
  }

  private submit(prepare: (view: WriteView) => readonly Draft[], meta?: Pending["meta"]): Promise<LogRecord[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.isOpen) return Promise.reject(unavailable("store is closed"));
    if (this.alone) return this.afterAlone(() => this.submit(prepare, meta));
    let drafts: readonly Draft[];
    try {
      drafts = prepare(this.view);
    } catch (e) {
      // Nothing was written; report it the way a promise-returning API should.
      return Promise.reject(e);
    }
    if (drafts.length === 0) return Promise.resolve([]);
    const records: LogRecord[] = [];
    const stamp = this.stamp();
    for (const d of drafts) records.push(stamp(d));
    return this.enqueue(records, meta);
  }

  /**
   * Compacts the log below `plan.horizon` (see CompactionPlan): archives what leaves, publishes
   * the horizon, removes or strips those records in bounded batches while the store serves, then
   * appends the report record in the batch that writes what vouches for the log below the
   * horizon, and frees the space. A crash at any point is finished at the next open, from the
   * archive.
   */
  async compact(plan: CompactionPlan): Promise<CompactionOutcome> {
    if (this.failure) throw this.failure;
    if (!this.isOpen) throw unavailable("store is closed");
    checkCompaction(plan, this.committedRev, this.horizon.revision, this.compacting);
    const h = plan.horizon;
    this.compacting = true;
    try {
      const before = await filesSize(this.location);
      const previousHorizon = this.horizon.revision;
      const { counts, offer, counted, horizon } = compactionTally(plan, previousHorizon);
      const dir = this.opts.archiveDir ?? join(this.location, "archive");
      const header = { previousHorizon, created: Math.floor(this.clock.now()) };
      const written = await writeArchive(dir, header, counted(compactable(this.db, h, offer, this.closing.signal)), horizon);
      if (written.records === 0) removeArchive(written.file);
      // Nothing left and the horizon stays: nothing happened, and nothing is reported.
      if (written.records === 0 && horizon() === previousHorizon) return { horizon: previousHorizon, previousHorizon, removed: 0, stripped: 0 };
      const outcome: CompactionOutcome = {
        horizon: horizon(),
        previousHorizon,
        removed: counts.remove,
        stripped: counts.strip,
        ...(written.records > 0 ? { archive: written } : {}),
      };
      const intent: CompactionIntent = { ...outcome, state: "applying", report: plan.report(outcome) };
      await this.db.put(META.compacting, encodeMeta(intent), { sync: true });
      // Reads below the new horizon are refused from here on: what they would read is leaving.
      this.horizon = { revision: outcome.horizon, time: (await this.readLog(outcome.horizon))!.time };
      // The revision index forgets what left: no page at or after the horizon needs it.
      const forget = (key: string, revision: number): void => this.revIndex?.remove(key, revision);
      if (outcome.archive) await applyEntries(this.db, (await readArchive(outcome.archive.file, outcome.archive.sha256)).entries, this.closing.signal, forget);
      const report = await this.publish(intent);
      await this.freeSpace(outcome.horizon);
      return { ...outcome, bytesFreed: Math.max(0, before - (await filesSize(this.location))), report: { revision: report.revision, time: report.time } };
    } catch (e) {
      throw this.closing.signal.aborted ? unavailable("the store closed during the compaction; it finishes at the next start") : e;
    } finally {
      this.compacting = false;
    }
  }

  /** Whether a compaction is running. */
  /**
   * What the last compaction left below the horizon, with the horizon and digest it noted, the
   * records as stored: a migration copies those bytes as they are, for the digest vouches for
   * exactly them. Undefined for a store that was never compacted.
   */
  async compactedLog(): Promise<{ below: CompactedBelow; pages: AsyncGenerator<[number, Buffer][]> } | undefined> {
    const bytes = await this.db.get(META.compact);
    if (bytes === undefined) return undefined;
    const below = decodeCompacted(bytes);
    return { below, pages: storedBelow(this.db, below.horizon) };
  }

  get compactionRunning(): boolean {
    return this.compacting;
  }

  /**
   * Ends a compaction: its report record goes into the batch that writes what vouches for the
   * log below the horizon and clears the compaction under way.
   */
  private async publish(intent: CompactionIntent): Promise<LogRecord> {
    const below = await belowDigest(this.db, intent.horizon);
    const [report] = await this.submit(() => [intent.report], { put: [[META.compact, encodeMeta({ horizon: intent.horizon, ...below })]], del: [META.compacting] });
    return report!;
  }

  /**
   * At open, before the check: a compaction that a crash cut short is carried to its end from
   * its archive (its horizon was published, so nothing below it may be served half-removed).
   * Its report record is appended once the store is open.
   */
  private async finishCompaction(intent: CompactionIntent): Promise<void> {
    if (intent.state === "applying") {
      if (intent.archive) {
        let archived;
        try {
          archived = await readArchive(intent.archive.file, intent.archive.sha256);
        } catch (e) {
          throw this.damaged(undefined, `a compaction to revision ${intent.horizon} was cut short and its archive cannot be read (${e instanceof Error ? e.message : String(e)})`);
        }
        await applyEntries(this.db, archived.entries);
      }
      const below = await belowDigest(this.db, intent.horizon);
      await this.db.batch(
        [
          { type: "put", key: META.compact, value: encodeMeta({ horizon: intent.horizon, ...below }) },
          { type: "put", key: META.compacting, value: encodeMeta({ ...intent, state: "applied" }) },
        ],
        { sync: true },
      );
    }
    this.unreported = intent;
    const { state: _state, report: _report, ...outcome } = intent;
    this.resumedCompaction = outcome;
  }

  /** LevelDB frees the space of deleted entries only when it compacts the tables that hold them. */
  private async freeSpace(horizon: number): Promise<void> {
    await this.db.compactRange(prefixed("log", u64(0)), prefixed("log", u64(horizon)));
    for (const section of ["key", "ver", "time"] as const) await this.db.compactRange(sectionRange(section).gte, sectionRange(section).lt);
  }

  async commitAlone(prepare: (view: WriteView, pause: Pause) => Promise<readonly Draft[]>): Promise<LogRecord[]> {
    if (this.failure) throw this.failure;
    if (!this.isOpen) throw unavailable("store is closed");
    if (this.alone) return this.afterAlone(() => this.commitAlone(prepare));
    this.alone = true;
    let durable: Promise<LogRecord[]>;
    try {
      const pause = timeSlices();
      const drafts = await prepare(this.view, pause);
      if (this.failure) throw this.failure;
      if (!this.isOpen) throw unavailable("store is closed");
      const records: LogRecord[] = [];
      const stamp = this.stamp();
      for (const d of drafts) {
        records.push(stamp(d));
        const p = pause();
        if (p) await p;
      }
      // Queued before the commits that waited are let in, so the queue stays in revision order.
      durable = records.length === 0 ? Promise.resolve([]) : this.enqueue(records);
    } finally {
      this.alone = false;
      const waiting = this.waiting;
      this.waiting = [];
      // In order; one that is itself alone makes the rest wait again, still in order.
      for (const run of waiting) run();
    }
    return durable;
  }

  private afterAlone(commit: () => Promise<LogRecord[]>): Promise<LogRecord[]> {
    return new Promise((resolve, reject) => this.waiting.push(() => void commit().then(resolve, reject)));
  }

  /**
   * Gives drafts their revision, version and time, and the writer's view their heads, so the
   * next `prepare` sees them. Their bytes are made in flush(), in slices.
   */
  private stamp(): (d: Draft) => LogRecord {
    // Whole milliseconds: the time index is keyed by integer ms.
    const now = Math.max(this.lastTime, Math.floor(this.clock.now()));
    this.lastTime = now;
    return (d) => {
      const version = (this.writer.get(d.key)?.version ?? 0) + 1;
      const r = makeRecord(d, this.nextRev++, version, now);
      this.writer.set(r.key, { version, revision: r.revision, deleted: r.deleted });
      return r;
    };
  }

  private enqueue(records: LogRecord[], meta?: Pending["meta"]): Promise<LogRecord[]> {
    return new Promise<LogRecord[]>((resolve, reject) => {
      this.queue.push({ records, resolve, reject, ...(meta ? { meta } : {}) });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * Puts records start..end-1 of a group and their index entries into `batch`, extending the hash
   * chain in revision order; with `heads`, their keys' head entries too. Yields to the event loop
   * whenever a slice has run for SLICE_MS (see timeSlices).
   */
  private async fill(batch: BatchSink, all: readonly LogRecord[], start: number, end: number, heads: boolean, pause: Pause): Promise<void> {
    const put = this.put;
    for (let i = start; i < end; i++) {
      const r = all[i]!;
      const rev = u64(r.revision);
      const bytes = encodeLogValue(this.lastHash, r);
      this.lastHash = recordHash(bytes);
      batch.put(put.log(rev), bytes);
      batch.put(put.key(keyNum(r.key, r.revision)), u64(r.version));
      batch.put(put.ver(keyNum(r.key, r.version)), rev);
      batch.put(put.time(timeRev(r.time, r.revision)), EMPTY);
      if (heads) batch.put(put.head(Buffer.from(r.key, "utf8")), rev);
      // Before the batch is visible, in slices: a page at a revision below these ignores them,
      // and a batch of a whole prefix would otherwise update the index in one long step.
      if (this.revIndex) this.revIndex.add(r.key, r.revision);
      else this.indexPending?.push(r);
      const slice = pause();
      if (slice) await slice;
    }
  }

  /** The group's own meta entries, then the new head and the chain's tip: the end of its batch. */
  private finish(batch: BatchSink, group: readonly Pending[], last: LogRecord): void {
    for (const p of group) {
      for (const [k, v] of p.meta?.put ?? []) batch.put(k, v);
      for (const k of p.meta?.del ?? []) batch.del(k);
    }
    batch.put(META.head, u64(last.revision));
    batch.put(META.hash, this.lastHash);
  }

  /** A small group: one LevelDB batch, written (synced) from this thread. */
  private async writeHere(group: readonly Pending[], all: readonly LogRecord[]): Promise<void> {
    const batch = this.db.batch();
    await this.fill(batch, all, 0, all.length, true, timeSlices());
    this.finish(batch, group, all[all.length - 1]!);
    await batch.write({ sync: true });
  }

  /**
   * A large group, built and written on a worker thread (see BatchWriter). Above one part it goes
   * in parts, so that neither a batch nor LevelDB's memtable ever holds all of it:
   * the first part names the group's revisions in META.unfinished; the last writes every head
   * entry, moves meta's head and removes the marker. Readers never look above the committed
   * head, a stop in between leaves no acknowledged revision behind, and the next open takes the
   * parts out (see undoUnfinishedWrite).
   */
  private async writeThreaded(group: readonly Pending[], all: readonly LogRecord[]): Promise<void> {
    const writer = (this.batchWriter ??= new BatchWriter(resolve(this.location)));
    const part = this.opts.batchPart ?? BATCH_PART;
    const inParts = all.length > part;
    const last = all[all.length - 1]!;
    const pause = timeSlices();
    // One part after another: making the next part while the one before was synced made the Gets
    // served meanwhile wait longer (p99 86-90 against 44-68 ms on the build before, in alternating
    // rounds of a 100,000-key rollback; one after another, 70-79 against 54-77 ms).
    for (let start = 0; start < all.length; start += part) {
      const end = Math.min(all.length, start + part);
      const batch = writer.begin();
      try {
        if (inParts && start === 0) batch.put(META.unfinished, encodeUnfinished({ from: all[0]!.revision, to: last.revision }));
        await this.fill(batch, all, start, end, !inParts, pause);
        if (end === all.length) {
          if (inParts) {
            for (const r of all) {
              batch.put(this.put.head(Buffer.from(r.key, "utf8")), u64(r.revision));
              const slice = pause();
              if (slice) await slice;
            }
            batch.del(META.unfinished);
          }
          this.finish(batch, group, last);
        }
      } catch (e) {
        batch.abort();
        throw e;
      }
      // Every part synced: syncing only the last (LevelDB's log is written in order, so it would
      // make the parts before it durable too) let the Gets served meanwhile wait longer (p99
      // 1.14-1.33x the build before's, against 0.96-1.44x with every part synced).
      await batch.write();
      if (inParts) this.counters.batchParts++;
    }
    this.counters.threadedBatches++;
  }

  /** Group commit: everything queued while a batch is made and synced goes into the next batch. */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      const last = group[group.length - 1]!.records;
      const all = group.length === 1 ? group[0]!.records : group.flatMap((p) => p.records);
      let staged: StagedHeads | undefined;
      try {
        const written = all.length >= (this.opts.threadedBatch ?? THREADED_BATCH) ? this.writeThreaded(group, all) : this.writeHere(group, all);
        // A large batch's heads are gathered while it is synced, so that it is shown in one step.
        [, staged] = await Promise.all([written, all.length >= STAGED_HEADS ? this.committed.stage(all, timeSlices()) : undefined]);
      } catch (e) {
        // The writer's view already counted these revisions: nothing after them can be trusted.
        const err = unavailable(`store failed: ${e instanceof Error ? e.message : String(e)}`);
        this.failure = err;
        for (const p of [...group, ...this.queue]) p.reject(err);
        this.queue = [];
        break;
      }
      this.counters.batches++;
      this.committedHash = this.lastHash;
      if (staged) this.committed.show(staged);
      else for (const r of all) this.committed.set(r);
      this.committedRev = last[last.length - 1]!.revision;
      this.counters.records += all.length;
      notifyListeners(this.listeners, all, this.onListenerError);
      if (staged) {
        // A batch this large has held the event loop long enough making itself visible and
        // telling the listeners: its callers go on (their answers, letting go of what they held)
        // only once the loop has polled for I/O, so that a call that came in meanwhile is served
        // first. From an I/O callback, one setImmediate still runs before that poll; a second
        // one runs after it.
        await nextTurn();
        await nextTurn();
        for (const p of group) p.resolve(p.records);
        // Before the next batch, which waits meanwhile; readers see the shown heads throughout.
        await nextTurn();
        await this.committed.moveIn(timeSlices());
      } else for (const p of group) p.resolve(p.records);
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

  eachLatest(prefix: string): Iterable<LogRecord> {
    // Every key: the map's own iterator, ten times quicker than filtering through a generator.
    return prefix === "" ? this.committed.values() : this.eachLatestUnder(prefix);
  }

  private *eachLatestUnder(prefix: string): Iterable<LogRecord> {
    // The revision index holds the keys in order: a prefix costs its own keys, not every key's
    // (the scheduler lists change requests every second). Keys it holds that are not durable
    // yet have no head here and are left out.
    const index = this.revIndex;
    if (index !== undefined) {
      for (const k of index.keysUnder(prefix)) {
        const r = this.committed.get(k);
        if (r !== undefined) yield r;
      }
      return;
    }
    for (const [k, r] of this.committed) if (k.startsWith(prefix)) yield r;
  }

  get keyCount(): number {
    return this.committed.size;
  }

  latestUnder(prefix: string): LogRecord[] {
    const out = [...(prefix === "" ? this.committed.values() : this.eachLatestUnder(prefix))];
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  pageAt(prefix: string, revision: number, limit: number, after?: string, maxBytes = Infinity): Promise<{ records: LogRecord[]; last?: string }> {
    return this.pages.page(prefix, revision, limit, after, maxBytes, false) as Promise<{ records: LogRecord[]; last?: string }>;
  }

  pageStoredAt(prefix: string, revision: number, limit: number, after?: string, maxBytes = Infinity): Promise<{ records: (LogRecord | StoredBytes)[]; last?: string }> {
    return this.pages.page(prefix, revision, limit, after, maxBytes, true);
  }

  /**
   * Reads the whole key index into a RevisionIndex. Commits made meanwhile are kept aside and
   * taken in after, so the index ends up exactly at the committed head. A failed build leaves
   * pages reading the key index, as before it.
   */
  private async buildRevisionIndex(): Promise<void> {
    // Called by open() before any commit: every record filled from here on is kept aside.
    this.indexPending = [];
    const upTo = this.committedRev;
    const it = this.keyIdx.keys();
    try {
      const index = await RevisionIndex.fromKeyIndex((n) => it.nextv(n), {
        upTo,
        batch: OPEN_READ_BATCH,
        // The key's string from its head record, so the index holds no copy of it.
        canonical: (key) => this.committed.get(key)?.key ?? key,
        stopped: () => this.closing.signal.aborted,
      });
      if (index === undefined) return;
      for (const r of this.indexPending) index.add(r.key, r.revision);
      this.revIndex = index;
    } catch (e) {
      if (this.isOpen) process.emitWarning(e instanceof Error ? e : new Error(String(e)), "RevisionIndexError");
    } finally {
      this.indexPending = undefined;
      await it.close().catch(() => undefined);
    }
  }

  async readNote(name: string): Promise<Buffer | undefined> {
    if (!this.isOpen) throw unavailable("store is closed");
    try {
      const v = await this.db.get(prefixed("note", Buffer.from(name, "utf8")));
      return v === undefined ? undefined : Buffer.from(v);
    } catch (e) {
      throw this.readFailure(e);
    }
  }

  async writeNote(name: string, value: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.isOpen) throw unavailable("store is closed");
    await this.db.put(prefixed("note", Buffer.from(name, "utf8")), value);
  }

  async writeNotes(notes: readonly (readonly [string, Buffer])[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.isOpen) throw unavailable("store is closed");
    if (notes.length === 0) return;
    await this.db.batch(notes.map(([name, value]) => ({ type: "put" as const, key: prefixed("note", Buffer.from(name, "utf8")), value })));
  }

  async *notes(prefix: string): AsyncGenerator<[string, Buffer]> {
    if (!this.isOpen) throw unavailable("store is closed");
    const from = prefixed("note", Buffer.from(prefix, "utf8"));
    const it = this.db.iterator({ gte: from, lt: prefixed("note", Buffer.from(prefix + "\u{10FFFF}", "utf8")) });
    try {
      for (;;) {
        const entries = await it.nextv(1024);
        if (entries.length === 0) return;
        for (const [k, v] of entries) yield [k.subarray(PREFIX.note.length).toString("utf8"), Buffer.from(v)];
      }
    } finally {
      await it.close();
    }
  }

  /** Each read is local: one prefix after another. */
  async *notesUnder(prefixes: readonly string[]): AsyncGenerator<[string, Buffer]> {
    for (const p of disjointPrefixes(prefixes)) yield* this.notes(p);
  }

  async at(key: string, revision: number): Promise<LogRecord | undefined> {
    try {
      const rev = Math.min(revision, this.committedRev);
      this.stillServed(rev);
      // A binary search in memory when the revision index is built (a reverse seek in the key
      // index costs more the more versions the key has), else that seek.
      let at = this.revIndex?.revisionAt(key, rev);
      if (this.revIndex === undefined) {
        for await (const k of this.keyIdx.keys({ gte: keyNum(key, 0), lte: keyNum(key, rev), reverse: true, limit: 1 })) at = readU64(k, k.length - 8);
      }
      if (at === undefined) {
        // Unless a compaction took the key's records below `rev` meanwhile.
        this.stillServed(rev);
        return undefined;
      }
      const head = this.committed.get(key);
      const found = head !== undefined && head.revision === at ? head : await this.readLog(at);
      this.stillServed(rev);
      // An index names a record the log does not hold: damage, never an answer of "absent".
      if (found === undefined) throw new Error(`the key index names revision ${at}, which the log does not hold`);
      return found;
    } catch (e) {
      throw this.readFailure(e);
    }
  }

  async version(key: string, version: number): Promise<LogRecord | undefined> {
    try {
      const rev = await this.verIdx.get(keyNum(key, version));
      if (rev === undefined || readU64(rev) > this.committedRev) return undefined;
      return await this.readLog(readU64(rev));
    } catch (e) {
      throw this.readFailure(e);
    }
  }

  async history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    try {
      const upper = Math.min(beforeRevision === undefined ? MAX_U64 : beforeRevision - 1, this.committedRev);
      // From the revision index in memory when it is built: a reverse seek in the key index
      // costs more the more versions the key has.
      if (this.revIndex !== undefined) return await this.readMany(this.revIndex.newestFirst(key, upper, limit).map(u64));
      // all() reads in batches: for await would cost a promise (or more) per key.
      const keys = await this.keyIdx.keys({ gte: keyNum(key, 0), lte: keyNum(key, upper), reverse: true, limit }).all();
      return await this.readMany(keys.map((k) => k.subarray(k.length - 8)));
    } catch (e) {
      throw this.readFailure(e);
    }
  }

  async revisionAt(time: number): Promise<number> {
    try {
      // Record times are whole, non-negative ms: a fractional time finds the ms it is in.
      if (!(time >= 0)) return 0;
      const ms = Math.min(Math.floor(time), MAX_U64);
      for await (const k of this.timeIdx.keys({ lte: timeRev(ms, MAX_U64), reverse: true, limit: 1 })) {
        return Math.min(readU64(k, 8), this.committedRev);
      }
      return 0;
    } catch (e) {
      throw this.readFailure(e);
    }
  }

  async range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    try {
      const upper = Math.min(to, this.committedRev);
      if (from > upper) return [];
      if (key === undefined) this.stillServed(from);
      if (key !== undefined) {
        const keys = await this.keyIdx.keys({ gte: keyNum(key, from), lte: keyNum(key, upper), limit }).all();
        return await this.readMany(keys.map((k) => k.subarray(k.length - 8)));
      }
      // One revision (the time of a GetAt's revision) is one get: an iterator costs three trips to LevelDB's thread.
      const out = from === upper && limit > 0 ? [await this.readLog(from)].filter((r) => r !== undefined) : (await this.log.values({ gte: u64(from), lte: u64(upper), limit }).all()).map(decodeRecord);
      // A run of revisions with a gap is never an answer: the gap was compacted meanwhile.
      this.stillServed(from);
      return out;
    } catch (e) {
      throw this.readFailure(e);
    }
  }

  /** Told when a commit listener throws (set by the composition root); without it, a process warning. */
  onListenerError: ((error: Error) => void) | undefined;

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * After a read at `revision`: a compaction that raised the horizon past it meanwhile may have
   * taken records the read needed, so it is refused rather than answered short.
   */
  private stillServed(revision: number): void {
    const h = this.horizon.revision;
    if (h > 1 && revision < h) throw outOfRange("revision", `revision ${revision} is below the compaction horizon; the oldest revision served is ${h}`, { oldest: h });
  }

  /** A read racing close() fails inside LevelDB: the caller should retry elsewhere or later, not see INTERNAL. */
  private readFailure(e: unknown): unknown {
    if (!this.isOpen) return unavailable("store is closed");
    if (e instanceof CtmError) return e;
    // Anything else from LevelDB or the decoder is damage: stop serving rather than answer short.
    const reason = e instanceof Error ? e.message : String(e);
    this.failure ??= new CtmError("data_loss", `the store could not read a record (${reason}) and stopped serving; stop ctmd and run \`ctmd verify --data-dir ${this.location}\``);
    return this.failure;
  }

  private async readLog(rev: number): Promise<LogRecord | undefined> {
    const v = await this.log.get(u64(rev));
    return v === undefined ? undefined : decodeRecord(v);
  }

  /**
   * The records at `revs`, which an index named. One below the horizon may have been compacted
   * since the index was read, and is left out; one at or above it that the log lacks is damage,
   * never a shorter answer.
   */
  private async readMany(revs: Buffer[]): Promise<LogRecord[]> {
    if (revs.length === 0) return [];
    const values = await this.log.getMany(revs);
    const out: LogRecord[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== undefined) out.push(decodeRecord(v));
      else if (readU64(revs[i]!) >= this.horizon.revision) throw new Error(`the key index names revision ${readU64(revs[i]!)}, which the log does not hold`);
    }
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
/** Settles from setImmediate: in the event loop's check phase, which follows its poll for I/O. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Head records open() reads per step. */
const OPEN_READ_BATCH = 10_000;
/** Records in a batch from which it is written on a worker thread (about 4 MiB and up). */
const THREADED_BATCH = 10_000;
/**
 * Records in a part of a larger threaded batch. 8,192 records of a few hundred bytes make parts
 * of a few MiB: a RollbackPrefix of 100,000 keys written whole held its batch (on the writer
 * thread) and LevelDB's memtable at some 60 MiB each.
 */
const BATCH_PART = 8192;
/** Records in a batch from which its heads are staged and shown in one step (see HeadRecords). */
const STAGED_HEADS = 4096;

function* filterPrefix(keys: Iterable<string>, prefix: string): Iterable<string> {
  for (const k of keys) if (k.startsWith(prefix)) yield k;
}

