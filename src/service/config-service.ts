import type { BlameLine } from "../domain/blame.js";
import type { ChangeOp } from "../domain/change/change-request.js";
import type { DeleteGuard } from "./delete-guard.js";
import type { ReadSink } from "./read-stats.js";
import { BLAME_LIMITS, blameHistory, type BlameLimits } from "../domain/blame-history.js";
import type { Clock } from "../domain/clock.js";
import { diffValues, type PatchOp } from "../domain/diff.js";
import { CtmError, failedPrecondition, invalidArgument, notFound, outOfRange } from "../domain/errors.js";
import { compareKeys } from "../domain/key-order.js";
import { jsonByteLength, jsonEqual, type JsonValue } from "@ctm/core/json";
import { answerBytes, checkKey, checkPointer, checkPrefix, checkText, checkValue, checkVersion, LIMITS } from "../domain/limits.js";
import { isLive, type Draft, type LogRecord } from "@ctm/core/record";
import { buildRollout, type RolloutInput } from "../domain/rollout/build-rollout.js";
import { restart } from "../domain/rollout/controls.js";
import { evaluate } from "@ctm/core/rollout/evaluate";
import { EMPTY_CONTEXT, type EvalContext, type Resolution } from "@ctm/core/rollout/plan";
import { isStoredBytes, type LogStore, type StoredBytes, type WriteView } from "../storage/log-store.js";
import { timeSlices, type Pause } from "../storage/time-slices.js";
import type { WatchHub } from "../watch/watch-hub.js";
import type { Watcher } from "../watch/watcher.js";
import { decodePageToken, decodeSnapshotToken, encodePageToken, encodeSnapshotToken } from "./page-token.js";
import { DAEMON_SOURCE, type AccessSink } from "./access-log.js";
import { InFlightValues } from "./in-flight-values.js";
import { guardRestore, type WriteGuard } from "./write-guard.js";
import { resolvePoint, type PointInTime } from "./point-in-time.js";
import { checkExpected, planWrites, type Actor, type WriteOp } from "./write-plans.js";
import { breakGlassAsked, currentPrincipal } from "./acting-principal.js";

/** An Apply operation as a client states it: sets may carry a rollout plan. */
export type ApplyOp =
  | { type: "set"; key: string; value?: JsonValue; expectedVersion?: number; rolloutInput?: RolloutInput }
  | { type: "delete"; key: string; expectedVersion?: number; force?: boolean };

/** Runs `f`, naming the operation in any invalid_argument field (operations[2].set.rollout.steps...). */
export function prefixed<T>(prefix: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CtmError && e.code === "invalid_argument" && e.field) throw invalidArgument(`${prefix}${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
}

/** An operation checked for shape; its rollout and guards are decided inside the commit. */
type PendingOp = { type: "set"; key: string; value: JsonValue; expectedVersion?: number; rolloutInput?: RolloutInput } | { type: "delete"; key: string; expectedVersion?: number };

/** What RollbackPrefix appended: `records` are the first `restored` records, as many as fit one answer. */
export interface RollbackPrefixResult {
  revision: number;
  records: LogRecord[];
  restored: number;
  firstRevision: number;
  lastRevision: number;
}

export type SetInput = { key: string; value?: JsonValue; expectedVersion?: number; rollout?: RolloutInput } & WriteMeta;

export interface WriteMeta {
  author?: string;
  message?: string;
  /** Who is writing, when the call is no longer the one being dispatched (see acting-principal.ts). */
  principal?: string;
}

/** The use cases of ConfigService. Knows nothing of gRPC. */
export class ConfigService {
  constructor(
    private readonly store: LogStore,
    private readonly hub: WatchHub,
    private readonly clock: Clock,
    /** Validators and definition checks, consulted before every set is written. */
    private readonly guards: readonly WriteGuard[] = [],
    /** Told what each Get with a request id or unit id was served. */
    private readonly access?: AccessSink,
  ) {}

  /** Told of every Get of a key that exists (the per-key read counters). */
  reads: ReadSink | undefined;
  /** Refuses deletes of keys still read (off unless set). */
  deleteGuard: DeleteGuard | undefined;

  /** This service's writes that are not durable yet: what `prepare` reads a key's value from. */
  private readonly inFlight = new InFlightValues((key) => this.store.latest(key));

  /** Whether `r` is its key's current record itself (not one read back from the log). */
  isCurrent(r: LogRecord): boolean {
    return this.store.latest(r.key) === r;
  }

  get headRevision(): number {
    return this.store.headRevision;
  }

  /** The oldest revision still served: 1 until a compaction raises it. */
  get firstRevision(): number {
    return this.store.firstRevision;
  }

  /** When the record at firstRevision was written; 0 before any compaction. */
  get firstTime(): number {
    return this.store.firstTime;
  }

  set(req: SetInput): Promise<LogRecord> {
    return this.write(req, true);
  }

  /** A set that skips the guards: for SetValidator with force, whose caller accepted the violations. */
  setUnguarded(req: SetInput): Promise<LogRecord> {
    return this.write(req, false);
  }

  private async write(req: SetInput, guarded: boolean): Promise<LogRecord> {
    const key = checkKey(req.key);
    const value = checkValue(req.value);
    const op: PendingOp = { type: "set", key, value, expectedVersion: checkVersion(req.expectedVersion, "expected_version"), rolloutInput: req.rollout };
    const actor = this.actor(req);
    const [r] = await this.commit((view) => planWrites(view, this.decide(view, [op], guarded, () => ""), actor, () => ""));
    return r!;
  }

  /**
   * Builds each set's rollout and runs the guards inside `prepare`, against the writer's
   * view: the default stable value is the one of the version immediately before in
   * revision order (in flight or durable), and the guards check the rollout that is stored.
   */
  private decide(view: WriteView, ops: readonly PendingOp[], guarded: boolean, fieldOf: (i: number) => string): WriteOp[] {
    const now = this.clock.now();
    const values = this.inFlight.reader(view);
    return ops.map((op, i): WriteOp => {
      if (op.type === "delete") {
        values.wrote(op.key, { deleted: true });
        return op;
      }
      const { key, value, rolloutInput: input } = op;
      const f = fieldOf(i);
      const rollout = input && prefixed(f, () => buildRollout(input, { key, value, currentStable: input.stable === undefined ? values.stable(key) : undefined, now }));
      if (guarded) for (const g of this.guards) g.checkWrite(key, value, rollout, f);
      values.wrote(key, { deleted: false, value, rollout });
      return { type: "set", key, value, expectedVersion: op.expectedVersion, rollout };
    });
  }

  /** store.commitAlone, with the drafts held as commit() holds them. */
  private commitAlone(prepare: (view: WriteView, pause: Pause) => Promise<Draft[]>): Promise<LogRecord[]> {
    let release = (): void => {};
    return this.store
      .commitAlone(async (view, pause) => {
        const drafts = await prepare(view, pause);
        release = await this.inFlight.holdInSlices(view, drafts, pause);
        return drafts;
      })
      .finally(() => release());
  }

  /** store.commit, with this service's drafts visible to later `prepare`s until they are durable. */
  private commit(prepare: (view: WriteView) => Draft[]): Promise<LogRecord[]> {
    let release = (): void => {};
    return this.store
      .commit((view) => {
        const drafts = prepare(view);
        release = this.inFlight.hold(view, drafts);
        return drafts;
      })
      .finally(() => release());
  }

  get(key: string): LogRecord {
    const r = this.store.latest(key);
    if (isLive(r)) return r;
    // Only checked on a miss: every stored key passed checkKey when it was written.
    checkKey(key);
    throw notFound(`key "${key}" does not exist`);
  }

  /** The current entry and what `ctx` is served from it now. Memory only: never touches disk. */
  /** Waits until this replica has every write committed before the call (a no-op on the embedded store). */
  async syncToHead(): Promise<void> {
    await this.store.syncToHead?.();
  }

  /** `source` names the face that served it in the access log (OFREP's evaluations say "ofrep"). */
  resolve(key: string, ctx: EvalContext, source = DAEMON_SOURCE): { record: LogRecord; resolution: Resolution } {
    const record = this.get(key);
    const now = this.clock.now();
    const resolution = evaluate(record, ctx, now);
    this.reads?.touch(key, now);
    this.served(key, ctx, record, resolution, source, now);
    return { record, resolution };
  }

  /**
   * Records in the access log what `ctx` was served, when it names a request or a unit. resolve
   * does it; a face that may still refuse an answer resolves without the request id and calls
   * this once it serves it.
   */
  served(key: string, ctx: EvalContext, record: LogRecord, resolution: Resolution, source: string, now = this.clock.now()): void {
    if (!this.access || !(ctx.requestId || ctx.unitId)) return;
    this.access.record({
      time: now,
      requestId: ctx.requestId ?? "",
      unitId: ctx.unitId,
      key,
      version: record.version,
      revision: record.revision,
      variant: resolution.variant,
      reason: resolution.reason,
      source,
    });
  }

  async delete(req: { key: string; expectedVersion?: number; force?: boolean } & WriteMeta): Promise<LogRecord> {
    const op: WriteOp = { type: "delete", key: checkKey(req.key), expectedVersion: checkVersion(req.expectedVersion, "expected_version") };
    // Before the first await: the principal is set only around the call's synchronous start.
    const actor = this.actor(req);
    if (req.force !== true) await this.deleteGuard?.ready([op.key]);
    this.deleteGuard?.check(op.key, req.force === true, "key");
    const [r] = await this.commit((view) => planWrites(view, [op], actor, () => ""));
    return r!;
  }

  async apply(ops: readonly ApplyOp[], meta: WriteMeta): Promise<LogRecord[]> {
    if (ops.length === 0) throw invalidArgument("operations", "must hold at least one operation");
    if (ops.length > LIMITS.applyOperations) throw invalidArgument("operations", `must hold at most ${LIMITS.applyOperations}`);
    // Before the first await: the principal is set only around the call's synchronous start.
    const actor = this.actor(meta);
    // Valid keys only: an invalid one is refused below, naming its field.
    const guarded = ops.filter((op) => op.type === "delete" && op.force !== true && Buffer.byteLength(op.key, "utf8") <= LIMITS.keyBytes).map((op) => op.key);
    if (guarded.length > 0) await this.deleteGuard?.ready(guarded);
    const checked = ops.map((op, i): PendingOp => {
      const f = `operations[${i}].${op.type}.`;
      const key = checkKey(op.key, `${f}key`);
      const expectedVersion = checkVersion(op.expectedVersion, `${f}expected_version`);
      if (op.type === "delete") {
        this.deleteGuard?.check(key, op.force === true, `${f}key`);
        return { type: "delete", key, expectedVersion };
      }
      return { type: "set", key, value: checkValue(op.value, `${f}value`), expectedVersion, rolloutInput: op.rolloutInput };
    });
    const fieldOf = (i: number) => `operations[${i}].${checked[i]!.type}.`;
    return this.commit((view) => planWrites(view, this.decide(view, checked, true, fieldOf), actor, fieldOf));
  }

  /**
   * The batch of an approved change request: its operations, checked and guarded as Apply's,
   * each record naming the request, then the drafts `also` adds (the request's own document),
   * once `check` passed on the writer's view. All of it lands, or none.
   */
  applyChange(ops: readonly ChangeOp[], meta: WriteMeta & { changeRequest: string }, check: (view: WriteView) => void, also: () => Draft[]): Promise<LogRecord[]> {
    const actor: Actor = { ...this.actor(meta), changeRequest: meta.changeRequest };
    const checked = ops.map((op, i): PendingOp => {
      const f = `operations[${i}].${op.type}.`;
      const key = checkKey(op.key, `${f}key`);
      return op.type === "delete" ? { type: "delete", key } : { type: "set", key, value: checkValue(op.value, `${f}value`), ...(op.rollout ? { rolloutInput: op.rollout } : {}) };
    });
    const fieldOf = (i: number) => `operations[${i}].${checked[i]!.type}.`;
    return this.commit((view) => {
      check(view);
      return [...planWrites(view, this.decide(view, checked, true, fieldOf), actor, fieldOf), ...also()];
    });
  }

  async history(key: string, limit: number, pageToken: string): Promise<{ records: LogRecord[]; nextPageToken: string; compactedBelowVersion: number }> {
    checkKey(key);
    const before = decodePageToken(pageToken);
    if (!Number.isSafeInteger(limit) || limit < 0) throw invalidArgument("limit", "must be a non-negative integer");
    const n = Math.min(limit === 0 ? LIMITS.historyDefault : limit, LIMITS.historyMax);
    if (this.store.latest(key) === undefined) throw notFound(`key "${key}" does not exist`);
    // One extra record tells whether another page exists.
    const got = await this.store.history(key, n + 1, before);
    let records = got.slice(0, n);
    let bytes = 0;
    const full = records.findIndex((r, i) => (bytes += answerBytes(r)) > LIMITS.historyPageBytes && i > 0);
    if (full > 0) records = records.slice(0, full);
    const more = got.length > records.length;
    // The last page ends above version 1 only when retention removed the versions below.
    const oldest = records[records.length - 1];
    const compactedBelowVersion = !more && oldest !== undefined && oldest.version > 1 ? oldest.version : 0;
    return { records, nextPageToken: more ? encodePageToken(records[records.length - 1]!.revision) : "", compactedBelowVersion };
  }

  async diff(key: string, fromVersion: number, toVersion: number): Promise<{ from?: LogRecord; to: LogRecord; ops: PatchOp[] }> {
    checkKey(key);
    checkVersion(fromVersion, "from_version");
    checkVersion(toVersion, "to_version");
    const latest = this.store.latest(key);
    if (latest === undefined) throw notFound(`key "${key}" does not exist`);
    const to = await this.versionOf(key, toVersion === 0 ? latest.version : toVersion, "to_version", latest.version);
    const fromV = fromVersion === 0 ? to.version - 1 : fromVersion;
    const from = fromV === 0 ? undefined : await this.versionOf(key, fromV, "from_version", latest.version);
    return { from, to, ops: diffValues(from?.value, to.value) };
  }

  /**
   * Right at any depth: the walk pages back through history, yielding between pages, until
   * every leaf is attributed. Past BLAME_LIMITS.maxVersions it refuses rather than blame
   * a leaf on a version that did not write it.
   */
  async blame(key: string, path = "", limits: BlameLimits = BLAME_LIMITS): Promise<{ record: LogRecord; lines: BlameLine[]; truncated: boolean }> {
    checkPointer(path, "path");
    const record = this.get(key);
    // A record whose value was compacted ends the walk: blame cannot look past it.
    let cut = false;
    const history = async (before: number | undefined, limit: number): Promise<LogRecord[]> => {
      const page = await this.store.history(key, limit, before);
      const stub = page.findIndex((p) => p.valueCompacted);
      if (stub >= 0 || (page.length < limit && page[page.length - 1]?.version !== 1)) cut = true;
      return stub >= 0 ? page.slice(0, stub) : page;
    };
    const r = await blameHistory(record, history, limits, { under: path, maxLeaves: LIMITS.blameLines });
    if (!r.found) throw invalidArgument("path", `${JSON.stringify(path)} names nothing in the current value of "${key}"`);
    if (!r.complete && cut) {
      const oldest = this.store.firstRevision;
      throw outOfRange("key", `blame of "${key}" needs versions older than ${r.oldestExamined}, whose values were compacted (the oldest revision served is ${oldest})`, { oldest });
    }
    if (!r.complete) {
      const shown = r.unresolved.slice(0, 5).map((p) => p || '""').join(", ");
      throw new CtmError(
        "failed_precondition",
        `blame of "${key}" stopped after ${r.examined} versions: ${r.unresolved.length} leaves (${shown}${r.unresolved.length > 5 ? ", ..." : ""}) are unchanged since version ${r.oldestExamined} or earlier`,
        undefined,
        { examined: r.examined, oldestExamined: r.oldestExamined },
      );
    }
    // Each line repeats its version's author and message: the answer ends before the line that
    // would pass the byte budget (it holds at least one).
    let bytes = 0;
    const lineBytes = (l: BlameLine): number => l.path.length + jsonByteLength(l.value) + l.record.author.length + l.record.message.length + (l.record.principal?.length ?? 0) + 64;
    const full = r.lines.findIndex((l, i) => (bytes += lineBytes(l)) > LIMITS.blameBytes && i > 0);
    return { record, lines: full > 0 ? r.lines.slice(0, full) : r.lines, truncated: r.truncated || full > 0 };
  }

  async rollback(req: { key: string; toVersion?: number; expectedVersion?: number } & WriteMeta): Promise<LogRecord> {
    const key = checkKey(req.key);
    checkVersion(req.toVersion, "to_version");
    const expectedVersion = checkVersion(req.expectedVersion, "expected_version");
    const latest = this.store.latest(key);
    if (latest === undefined) throw notFound(`key "${key}" does not exist`);
    if (req.toVersion === 0) throw invalidArgument("to_version", "must be at least 1 (leave it unset for the previous version)");
    const targetVersion = req.toVersion ?? latest.version - 1;
    if (targetVersion === 0) throw failedPrecondition(`key "${key}" has no version before ${latest.version}`);
    if (targetVersion >= latest.version) {
      throw invalidArgument("to_version", `must be older than the current version ${latest.version}`);
    }
    // Before the first await: the principal is set only around the call's synchronous start.
    const actor = this.actor(req);
    const target = await this.versionOf(key, targetVersion, "to_version", latest.version);
    const [r] = await this.commit((view) => {
      checkExpected(view.head(key), key, expectedVersion);
      const draft = restore(key, target, actor, this.clock.now());
      guardRestore(this.guards, draft, "to_version");
      return [draft];
    });
    return r!;
  }

  /** When `revision` was written; undefined when the log no longer holds it. */
  private async timeOf(revision: number): Promise<number | undefined> {
    return (await this.store.range(revision, revision, 1))[0]?.time;
  }

  /**
   * What `key` was at a time or revision, and what `ctx` was served then:
   * evaluation is a pure function of (record, context, time).
   */
  async getAt(key: string, at: PointInTime | undefined, ctx: EvalContext = EMPTY_CONTEXT): Promise<{ revision: number; record: LogRecord; resolution: Resolution }> {
    checkKey(key);
    if (at === undefined) throw invalidArgument("at", "a time or a revision is required");
    const revision = await resolvePoint(this.store, this.clock, at, "at");
    // At a revision, the moment is when that revision was written. Its time is read alongside
    // the record, always (waiting for the record first would add a round trip), and used only
    // when the record is not that revision's own.
    const [record, written] = await Promise.all([this.store.at(key, revision), "time" in at ? undefined : this.timeOf(revision)]);
    if (!isLive(record)) throw notFound(`key "${key}" did not exist at revision ${revision}`);
    const time = "time" in at ? at.time : record.revision === revision ? record.time : (written ?? record.time);
    return { revision, record, resolution: evaluate(record, ctx, time) };
  }

  /**
   * One page of the live keys under `prefix` at a point (now when unset), in UTF-8 key order.
   * The first page fixes the revision and the token carries it, so a listing of any size reads
   * one consistent revision, page by page, whatever is written meanwhile.
   */
  async snapshot(prefix: string, at: PointInTime | undefined, pageSize = 0, pageToken = ""): Promise<{ revision: number; records: LogRecord[]; nextPageToken: string }> {
    const page = await this.snapshotPage(prefix, at, pageSize, pageToken, false);
    return page as { revision: number; records: LogRecord[]; nextPageToken: string };
  }

  /**
   * snapshot(), except that records read back from the log may come as the bytes the log holds,
   * tombstones among them, for an encoder that writes its answer from those bytes and leaves
   * the tombstones out: a page in the past is mostly such records.
   */
  snapshotStored(prefix: string, at: PointInTime | undefined, pageSize = 0, pageToken = ""): Promise<{ revision: number; records: (LogRecord | StoredBytes)[]; nextPageToken: string }> {
    return this.snapshotPage(prefix, at, pageSize, pageToken, true);
  }

  private async snapshotPage(prefix: string, at: PointInTime | undefined, pageSize: number, pageToken: string, stored: boolean): Promise<{ revision: number; records: (LogRecord | StoredBytes)[]; nextPageToken: string }> {
    checkPrefix(prefix);
    if (!Number.isSafeInteger(pageSize) || pageSize < 0) throw invalidArgument("page_size", "must be a non-negative integer");
    const cursor = decodeSnapshotToken(pageToken, prefix);
    if (cursor !== undefined && cursor.revision > this.store.headRevision) throw invalidArgument("page_token", "is not a token this server issued");
    const revision = cursor?.revision ?? (at === undefined ? this.store.headRevision : await resolvePoint(this.store, this.clock, at, "at"));
    const limit = Math.min(pageSize || LIMITS.snapshotPageMax, LIMITS.snapshotPageMax);
    // The budget counts whole stored records (value, plan, author, message), so no page of
    // any keys passes a client's default 4 MiB.
    const page = stored && this.store.pageStoredAt ? await this.store.pageStoredAt(prefix, revision, limit, cursor?.after, LIMITS.snapshotPageBytes) : await this.store.pageAt(prefix, revision, limit, cursor?.after, LIMITS.snapshotPageBytes);
    const last = page.last;
    return { revision, records: page.records.filter((r) => isStoredBytes(r) || isLive(r)), nextPageToken: last === undefined ? "" : encodeSnapshotToken({ revision, prefix, after: last }) };
  }

  /**
   * Restores every key under `prefix` to what it was at `to`, in one atomic batch. A prefix of
   * any size: the past is read a page at a time, and the batch is prepared in slices while
   * other commits wait (see LogStore.commitAlone), so other calls are served meanwhile.
   */
  async rollbackPrefix(prefix: string, to: PointInTime | undefined, meta: WriteMeta): Promise<RollbackPrefixResult> {
    checkPrefix(prefix);
    if (to === undefined) throw invalidArgument("to", "a time or a revision is required");
    const actor = this.actor(meta);
    const revision = await resolvePoint(this.store, this.clock, to, "to");
    // In the store's key order, which the map keeps.
    const then = await this.targetsAt(prefix, revision);
    const records = await this.commitAlone(async (view, pause) => {
      const drafts: Draft[] = [];
      const consider = (key: string): void => {
        const head = view.head(key);
        if (head === undefined) return;
        const target = then.get(key);
        if (target !== undefined && head.version === target.version) return;
        const targetLive = target !== undefined && !target.deleted;
        if (!targetLive && head.deleted) return;
        const now = this.store.latest(key);
        const unchanged = targetLive && now?.revision === head.revision && !now.deleted && jsonEqual(now.value, target.value);
        if (!unchanged) drafts.push(restore(key, target, actor, this.clock.now()));
      };
      // Revisions follow key order: the keys that lived then are in order already, and only
      // those born since are sorted, then merged in.
      const born: string[] = [];
      for (const key of view.keys(prefix)) {
        if (!then.has(key)) born.push(key);
        const p = pause();
        if (p) await p;
      }
      born.sort(compareKeys);
      let b = 0;
      for (const key of then.keys()) {
        while (b < born.length && compareKeys(born[b]!, key) < 0) consider(born[b++]!);
        consider(key);
        const p = pause();
        if (p) await p;
      }
      while (b < born.length) consider(born[b++]!);
      for (const d of drafts) {
        guardRestore(this.guards, d, "to");
        const p = pause();
        if (p) await p;
      }
      return drafts;
    });
    // The answer lists what fits one response; the count and the revisions say the rest.
    let bytes = 0;
    const shown = records.slice(0, LIMITS.rollbackPrefixShown);
    const full = shown.findIndex((r, i) => (bytes += answerBytes(r)) > LIMITS.snapshotPageBytes && i > 0);
    return {
      revision,
      records: full > 0 ? shown.slice(0, full) : shown,
      restored: records.length,
      firstRevision: records[0]?.revision ?? 0,
      lastRevision: records[records.length - 1]?.revision ?? 0,
    };
  }

  watch(key: string, prefix: boolean, startRevision: number): Watcher {
    if (prefix) checkPrefix(key, "key");
    else checkKey(key);
    checkVersion(startRevision, "start_revision");
    return this.hub.watch({ key, prefix }, startRevision);
  }

  /** Read at the start of each write, while its call is still the one dispatched. */
  private actor(meta: WriteMeta): Actor {
    const principal = meta.principal ?? currentPrincipal();
    return {
      author: checkText(meta.author || "anonymous", "author", LIMITS.authorChars),
      message: checkText(meta.message ?? "", "message", LIMITS.messageChars),
      cause: "api",
      ...(principal === undefined ? {} : { principal }),
      // Read here for the writes that begin after an await (RollbackPrefix), as the principal is.
      ...(breakGlassAsked() ? { breakGlass: true } : {}),
    };
  }

  private async versionOf(key: string, version: number, field: string, latest: number): Promise<LogRecord> {
    const r = version > latest ? undefined : await this.store.version(key, version);
    // Versions run 1..latest without gaps: one that is missing, or has lost its value, was compacted.
    const oldest = this.store.firstRevision;
    if (r === undefined && version <= latest) throw outOfRange(field, `version ${version} of "${key}" was compacted; the oldest revision served is ${oldest}`, { oldest });
    if (r?.valueCompacted) throw outOfRange(field, `the value of version ${version} of "${key}" was compacted (its author, time and message remain in History); the oldest revision served is ${oldest}`, { oldest });
    if (r === undefined) throw notFound(`${field}: version ${version} of "${key}" does not exist (the latest is ${latest})`);
    return r;
  }

  /**
   * What restoring each key under `prefix` needs of it as it stood at `revision` (tombstones
   * included), read a page at a time so that other calls run between pages. Only that is kept of
   * each record, and the pages are short, so that the records die young: read in pages of
   * 10,000 and kept whole, they outlived the collections of V8's young generation, and the heap
   * of a 100,000-key rollback peaked 16-18 MiB higher.
   */
  private async targetsAt(prefix: string, revision: number): Promise<Map<string, Target>> {
    const then = new Map<string, Target>();
    // Pages of keys unchanged since are answered from memory without a turn of the event loop.
    const slice = timeSlices();
    let after: string | undefined;
    do {
      const page = await this.store.pageAt(prefix, revision, ROLLBACK_PAGE, after);
      for (const r of page.records) then.set(r.key, r.deleted ? { version: r.version, deleted: true } : { version: r.version, deleted: false, value: r.value, rollout: r.rollout });
      after = page.last;
      const p = slice();
      if (p) await p;
    } while (after !== undefined);
    return then;
  }
}

/** Keys of the past a RollbackPrefix reads at a time (see targetsAt). */
const ROLLBACK_PAGE = 1000;

/** What a rollback restores of a key's past record. */
type Target = Pick<LogRecord, "version" | "deleted" | "value" | "rollout">;

/**
 * A rollback draft: the target's value, or a tombstone when the key did not
 * live then. A target that was rolling out restarts its rollout from the
 * beginning rather than replaying milestones that belong to the past.
 */
function restore(key: string, target: Target | undefined, actor: Actor, now: number): Draft {
  return target !== undefined && !target.deleted
    ? { key, value: target.value, rollout: target.rollout && restart(target.rollout, now), deleted: false, kind: "rollback", rolledBackTo: target.version, ...actor }
    : { key, deleted: true, kind: "rollback", rolledBackTo: target?.version, ...actor };
}

/** What a record adds to an answer: its value and its rollout plan (stable value, variants), as JSON. */

