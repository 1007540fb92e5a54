import type { CtmError } from "../domain/errors.js";
import type { Draft, KeyHead, LogRecord } from "@ctm/core/record";
import type { CompactionOutcome, CompactionPlan } from "./compaction.js";
import type { Pause } from "./time-slices.js";
import type { VerifyReport } from "./verify-report.js";

/** What `prepare` sees: the writer's state, including commits not yet durable. */
export interface WriteView {
  head(key: string): KeyHead | undefined;
  /** Every key ever written under `prefix`, tombstoned ones too, in no particular order. */
  keys(prefix: string): Iterable<string>;
}

export interface StoreStats {
  /** Log records read while opening: O(keys), never O(log). */
  readonly openLogReads: number;
  /** Synced batches written since open. */
  readonly batches: number;
  /** Records written since open. */
  readonly records: number;
  /** Of `batches`, those written from a worker thread (the level store's large batches). */
  readonly threadedBatches?: number;
  /** Synced parts those batches were written in, when larger than one part. */
  readonly batchParts?: number;
  /** Records of a batch left unfinished by an earlier process, taken out at open. */
  readonly undoneRecords?: number;
  /** Snapshot pages in the past whose records were read on the level store's reader thread. */
  readonly threadedPages?: number;
}

/** A record as the log stores it: the CBOR array [hash of the record before, record], not decoded. */
export interface StoredBytes {
  readonly key: string;
  readonly revision: number;
  readonly stored: Uint8Array;
}

export const isStoredBytes = (r: LogRecord | StoredBytes): r is StoredBytes => "stored" in r;

export type CommitListener = (records: readonly LogRecord[]) => void;

/**
 * The append-only log. Revisions are global and gap-free; each commit is one
 * atomic, synced batch shared with concurrent commits (group commit).
 */
export interface LogStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /** The newest durable revision (0 when empty). */
  readonly headRevision: number;
  /** The oldest revision still answered: 1 until a compaction raises it. */
  readonly firstRevision: number;
  /** Unix ms of the record at firstRevision; 0 until a compaction. */
  readonly firstTime: number;
  /** Whether the store is open and has not failed. */
  readonly healthy: boolean;
  /**
   * Why writes cannot be made now while reads are still served (an etcd cluster that lost its
   * quorum); undefined while writes can be made. Stores that serve both or neither omit it.
   */
  readonly writeOutage?: string;
  readonly stats: StoreStats;

  /**
   * Runs `prepare` synchronously against the writer's view, gives its drafts
   * consecutive revisions, and resolves once they are durable. If `prepare`
   * throws, nothing is written. Readers see the records only once durable.
   */
  commit(prepare: (view: WriteView) => readonly Draft[]): Promise<LogRecord[]>;
  /**
   * A commit too large to prepare in one turn of the event loop (a whole prefix): `prepare`
   * awaits `pause()` between steps, and no other commit is prepared until its drafts have their
   * revisions, so the batch is as atomic as commit's. Reads are served meanwhile.
   */
  commitAlone(prepare: (view: WriteView, pause: Pause) => Promise<readonly Draft[]>): Promise<LogRecord[]>;

  /**
   * Compacts the log below `plan.horizon` and raises firstRevision to it: records no read at or
   * after the horizon needs leave the store or keep only their audit fields, as `plan.dispose`
   * says, after they were written to an archive. Reads below the horizon are refused
   * (OUT_OF_RANGE) from the moment it starts.
   */
  compact(plan: CompactionPlan): Promise<CompactionOutcome>;
  /** Whether a compaction is running. */
  readonly compactionRunning: boolean;

  /** The newest durable record of a key, tombstones included. */
  latest(key: string): LogRecord | undefined;
  /** The newest durable record of every key under `prefix`, sorted by key. */
  latestUnder(prefix: string): LogRecord[];
  /** The same records in no particular order, without sorting: for a start-up scan over every key. */
  eachLatest(prefix: string): Iterable<LogRecord>;
  /** How many keys the store holds, tombstones included. */
  readonly keyCount: number;
  /**
   * One page of the keys under `prefix` as they stood at `revision`, tombstones included, in
   * the keys' UTF-8 byte order and after the key `after` when given. At most `limit` keys are
   * looked at, so a page may hold fewer records (keys born after `revision` have none); `last`
   * is the last key looked at when more may follow. A page also ends before the record that
   * would take its stored bytes past `maxBytes` (it holds at least one). Records at or below a
   * revision never change, so pages read at different times agree.
   */
  pageAt(prefix: string, revision: number, limit: number, after?: string, maxBytes?: number): Promise<{ records: LogRecord[]; last?: string }>;
  /**
   * pageAt, except that a record read back from the log may come as the bytes the log holds
   * (StoredBytes), tombstones included, for an encoder that writes its answer from them. A store
   * without it answers pageAt.
   */
  pageStoredAt?(prefix: string, revision: number, limit: number, after?: string, maxBytes?: number): Promise<{ records: (LogRecord | StoredBytes)[]; last?: string }>;
  /** The record of `key` current at `revision`, tombstones included. */
  at(key: string, revision: number): Promise<LogRecord | undefined>;
  /** A key's record with this version. */
  version(key: string, version: number): Promise<LogRecord | undefined>;
  /** A key's records, newest first, strictly below `beforeRevision` when given. */
  history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]>;
  /** The last revision written at or before `time` (ms); 0 when none. */
  revisionAt(time: number): Promise<number>;
  /** Records with revisions in [from, to], oldest first, at most `limit`; only `key` when given. */
  range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]>;
  /**
   * Checks every record's hash chain and index entries on a snapshot while the store serves.
   * A failed check fails the store: `refusal` is set and every later call is refused.
   */
  verify(): Promise<VerifyReport>;
  /** The last check's report: the one made at open, or by verify(). */
  readonly lastVerification: VerifyReport | undefined;
  /** Set once the store must not be served (a failed check, write or read), with the error to answer. */
  readonly refusal: CtmError | undefined;
  /**
   * A store several processes write (etcd): resolves once this one has applied every record
   * committed anywhere before the call. A store with one writer has nothing to wait for and
   * leaves it out.
   */
  syncToHead?(): Promise<void>;
  /**
   * Called synchronously, in order, after each batch becomes durable and visible. A large batch
   * comes in several calls within that one turn (see notifyListeners); `wholeBatches` gathers them.
   */
  onCommit(listener: CommitListener): () => void;

  /**
   * Operational notes beside the log (a token's last use): the latest bytes under a name. They
   * are not history, not hash-chained and not synced: a crash may lose the last write of one.
   */
  readNote(name: string): Promise<Buffer | undefined>;
  writeNote(name: string, value: Buffer): Promise<void>;
  /** Several notes in one batch. */
  writeNotes(notes: readonly (readonly [string, Buffer])[]): Promise<void>;
  /** Every note whose name starts with `prefix`, in name order, read a step at a time. */
  notes(prefix: string): AsyncIterable<[string, Buffer]>;
  /**
   * Every note under any of `prefixes`, each once, in no promised order: for many narrow prefixes
   * at once (a key's note from each replica), which a store across the network reads in a few
   * calls rather than one per prefix.
   */
  notesUnder(prefixes: readonly string[]): AsyncIterable<[string, Buffer]>;
}
