import { summarizeAccess, type AccessSummary } from "./access-summary.js";
import type { Clock } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import { checkText, checkVersion, LIMITS, TIME_RANGE } from "../domain/limits.js";
import { AccessBatchWriter, type AccessBatch } from "../storage/access-batch.js";
import type { AccessLogStore, AccessQuery, AccessRecord } from "../storage/access-log-store.js";
import type { Metrics } from "./metrics.js";

export interface AccessLogOptions {
  /** Records held in memory before new ones are dropped (and counted). */
  queueLimit: number;
  flushIntervalMs: number;
  maxAgeMs: number;
  maxBytes: number;
  retentionIntervalMs: number;
}

export const ACCESS_LOG_DEFAULTS: AccessLogOptions = {
  queueLimit: 50_000,
  // Short: queued records die young instead of aging into the old generation.
  flushIntervalMs: 25,
  maxAgeMs: 7 * 24 * 3_600_000,
  maxBytes: 256 * 1024 * 1024,
  retentionIntervalMs: 60_000,
};

/** Where Get reports what it served. `record` must never block or throw. */
export interface AccessSink {
  record(r: AccessRecord): void;
}

const FLUSH_BATCH = 5000;

/** The source of the records ctmd writes for the Gets it serves; uploads may not claim it. */
export const DAEMON_SOURCE = "ctmd";
/** The source of the records ctmd writes for the OFREP evaluations it serves; reserved too. */
export const OFREP_SOURCE = "ofrep";
const RESERVED_SOURCES = new Set([DAEMON_SOURCE, OFREP_SOURCE]);
/** Request ids, unit ids, variants and sources of uploaded records. */
const UPLOAD_TEXT_CHARS = 1024;

/** The access log keys records by time as an unsigned number of milliseconds. */
const storableTime = (t: number): boolean => Number.isSafeInteger(t) && t >= 0 && t <= TIME_RANGE.max;

/**
 * The access log's write path and queries. Get only appends to a bounded
 * queue (O(1), no I/O); a timer writes batches. When the queue is full,
 * records are dropped and counted instead of slowing Get or growing memory.
 * The queue is the byte form of a batch: a record is packed when it is
 * served, so no record object outlives its Get.
 */
export class AccessLog implements AccessSink {
  private current = new AccessBatchWriter();
  /** Batches that reached FLUSH_BATCH records and wait for the next flush. */
  private full: AccessBatch[] = [];
  /** Records accepted and not yet written (or given up on): queued, and in the batch being written. */
  private pending = 0;
  private dropped = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private retention: NodeJS.Timeout | undefined;
  private retaining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: AccessLogStore,
    private readonly clock: Clock,
    private readonly opts: AccessLogOptions = ACCESS_LOG_DEFAULTS,
    private readonly metrics?: Metrics,
  ) {}

  get depth(): number {
    return this.pending;
  }

  get droppedTotal(): number {
    return this.dropped;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs);
    this.timer.unref();
    this.retention = setInterval(() => {
      // Passes never overlap: two would prune the same oldest records twice.
      if (this.retaining) return;
      this.retaining = this.enforceRetention()
        .then(() => undefined, () => void this.metrics?.accessLogErrors.inc())
        .finally(() => (this.retaining = undefined));
    }, this.opts.retentionIntervalMs);
    this.retention.unref();
  }

  record(r: AccessRecord): void {
    // A record the store cannot key by time would fail its whole batch: it is dropped alone.
    if (this.closed || this.pending >= this.opts.queueLimit || !storableTime(r.time)) {
      this.dropped++;
      this.metrics?.accessLogDropped.inc();
      return;
    }
    this.current.add(r);
    this.pending++;
    if (this.current.count >= FLUSH_BATCH) {
      this.full.push(this.takeCurrent());
      void this.flush();
    }
  }

  /** The batch being filled; the next one starts a little larger than it, so it rarely grows (a copy). */
  private takeCurrent(): AccessBatch {
    const batch = this.current.finish();
    this.current = new AccessBatchWriter(Math.max(1024, Math.ceil(batch.bytes.byteLength * 1.25)));
    return batch;
  }

  /** SDK uploads: validated, then queued like the daemon's own records. */
  upload(records: AccessRecord[]): { accepted: number; dropped: number } {
    // Every record is checked before any is queued: one the store cannot write would fail
    // the whole shared batch, dropping the records of every other client with it.
    records.forEach((r, i) => {
      const f = `records[${i}]`;
      if (!r.key) throw invalidArgument(`${f}.key`, "is required");
      checkText(r.key, `${f}.key`, LIMITS.keyBytes);
      if (!r.requestId && !r.unitId) throw invalidArgument(f, "needs a request_id or a unit_id");
      checkText(r.requestId, `${f}.request_id`, UPLOAD_TEXT_CHARS);
      checkText(r.unitId, `${f}.unit_id`, UPLOAD_TEXT_CHARS);
      checkText(r.variant, `${f}.variant`, UPLOAD_TEXT_CHARS);
      checkText(r.source, `${f}.source`, UPLOAD_TEXT_CHARS);
      if (!storableTime(r.time)) throw invalidArgument(`${f}.time`, "must be a time from 1970-01-01 to 9999-12-31 UTC");
      if (RESERVED_SOURCES.has(r.source)) throw invalidArgument(`${f}.source`, `"${r.source}" is reserved for the records ctmd writes itself`);
      checkVersion(r.version, `${f}.version`);
      checkVersion(r.revision, `${f}.revision`);
    });
    const before = this.dropped;
    for (const r of records) this.record({ ...r, time: r.time || this.clock.now(), source: r.source || "sdk" });
    return { accepted: records.length - (this.dropped - before), dropped: this.dropped - before };
  }

  /**
   * Writes what is queued; batches never overlap. A batch the store cannot
   * write (a full disk) is dropped and counted: the access log must never
   * take Get, or the daemon, down with it. Never rejects.
   */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      // What was queued when this flush started; later records wait for the next one, so a
      // busy Get path sends a few large batches rather than a stream of small ones.
      const batches = this.full;
      this.full = [];
      if (this.current.count > 0) batches.push(this.takeCurrent());
      for (const batch of batches) {
        const n = batch.count;
        try {
          await this.store.append(batch);
          this.metrics?.accessLogWritten.inc(n);
        } catch {
          this.dropped += n;
          this.metrics?.accessLogDropped.inc(n);
          this.metrics?.accessLogErrors.inc();
        } finally {
          this.pending -= n;
        }
      }
    });
  }

  /**
   * Runs `f` after every write and retention step before it: flushes and the
   * size measurements of retention never interleave. Never rejects the chain.
   */
  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const p = this.flushing.then(f);
    this.flushing = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  async query(q: Omit<AccessQuery, "before"> & { pageToken: string }): Promise<{ records: AccessRecord[]; nextPageToken: string }> {
    if (!q.requestId && !q.unitId && !q.key && q.from === undefined && q.to === undefined) {
      throw invalidArgument("request_id", "give a request_id, unit_id, key or time range");
    }
    if (q.from !== undefined && !storableTime(q.from)) throw invalidArgument("start_time", "must be a time from 1970-01-01 to 9999-12-31 UTC");
    if (q.to !== undefined && !storableTime(q.to)) throw invalidArgument("end_time", "must be a time from 1970-01-01 to 9999-12-31 UTC");
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw invalidArgument("end_time", "must not be before start_time");
    const limit = q.limit === 0 ? 100 : Math.min(q.limit, 1000);
    let before: Buffer | undefined;
    if (q.pageToken) {
      before = Buffer.from(q.pageToken, "base64url");
      if (before.length < 16) throw invalidArgument("page_token", "is not a token this server issued");
    }
    // Queued records are part of the answer: flush first so a query sees what was just served.
    await this.flush();
    const { records, next } = await this.store.query({ ...q, limit, before });
    return { records, nextPageToken: next ? next.toString("base64url") : "" };
  }

  /** One key's evaluations per variant per time bucket (see summarizeAccess). */
  summarize(q: { key: string; from?: number; to?: number; bucketMs?: number }): Promise<AccessSummary> {
    return summarizeAccess(this, this.clock.now(), q);
  }

  /** Deletes by age, then the oldest until under the size limit. */
  async enforceRetention(): Promise<{ byAge: number; bySize: number }> {
    let byAge = 0;
    for (let n = -1; n !== 0; byAge += n) n = await this.store.pruneOlderThan(this.clock.now() - this.opts.maxAgeMs, 10_000);
    // Oldest first, only as many as needed: a small first chunk measures a
    // record's size, then each chunk is what the excess needs (at most 10,000).
    // Each step is measured with no write in between (flushes wait, then go on
    // between steps), or a concurrent flush would make records look tiny.
    let bySize = 0;
    let chunk = 10;
    for (let i = 0; i < 1000; i++) {
      const step = await this.exclusive(async () => {
        const bytes = await this.store.approximateBytes();
        if (bytes <= this.opts.maxBytes) return undefined;
        const n = await this.store.pruneOldest(chunk);
        return { n, bytes, after: await this.store.approximateBytes() };
      });
      if (step === undefined || step.n === 0) break;
      bySize += step.n;
      const perRecord = (step.bytes - step.after) / step.n;
      if (perRecord > 0) chunk = Math.min(10_000, Math.max(1, Math.ceil((step.after - this.opts.maxBytes) / perRecord)));
    }
    return { byAge, bySize };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.retention);
    await this.retaining;
    await this.flush();
    this.closed = true;
    await this.store.close();
  }
}
