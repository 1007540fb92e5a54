import type { LogRecord } from "@ctm/core/record";
import type { LogStore } from "../storage/log-store.js";

export interface WatchFilter {
  readonly key: string;
  /** When true, `key` is a prefix ("" matches everything). */
  readonly prefix: boolean;
}

export const matches = (f: WatchFilter, key: string): boolean => (f.prefix ? key.startsWith(f.key) : key === f.key);

/**
 * One subscriber. While "synced" it receives live records from the hub into a
 * bounded buffer; when the buffer is full it drops back to "catching up" and
 * reads what it missed from the log, so a slow watcher costs the writers
 * nothing and holds bounded memory.
 */
export class Watcher implements AsyncIterableIterator<LogRecord[]> {
  /** Every revision below this has been delivered or skipped. */
  private nextRev: number;
  private buffer: LogRecord[] = [];
  private synced = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private deliveredUpTo: number;
  /** Whether the last batch was read back from the log (a replay) rather than offered live. */
  lastFromLog = false;

  constructor(
    readonly filter: WatchFilter,
    startRevision: number,
    private readonly store: LogStore,
    private readonly bufferLimit: number,
    private readonly readBatch: number,
    private readonly onClose: (w: Watcher) => void,
  ) {
    this.nextRev = startRevision;
    this.deliveredUpTo = startRevision - 1;
    if (startRevision > store.headRevision) this.synced = true;
  }

  /** Called by the hub, synchronously with the commit that made `records` visible. */
  offer(records: readonly LogRecord[]): void {
    if (!this.synced || this.closed) return;
    for (const r of records) {
      if (r.revision < this.nextRev || !matches(this.filter, r.key)) continue;
      if (this.buffer.length >= this.bufferLimit) {
        // Too slow: stop buffering; the iterator reads from nextRev out of the log.
        this.synced = false;
        break;
      }
      this.buffer.push(r);
      this.nextRev = r.revision + 1;
    }
    this.notify();
  }

  /**
   * The revision up to which this watcher has seen everything, for progress
   * heartbeats: the store head when idle and synced, else what it delivered.
   */
  progressRevision(): number {
    if (this.synced && this.buffer.length === 0) return this.store.headRevision;
    return this.deliveredUpTo;
  }

  async next(): Promise<IteratorResult<LogRecord[]>> {
    for (;;) {
      // Buffered records still go out after close(), so a draining daemon delivers what it had.
      if (this.buffer.length > 0) {
        const out = this.buffer;
        this.buffer = [];
        this.deliveredUpTo = out[out.length - 1]!.revision;
        this.lastFromLog = false;
        return { value: out, done: false };
      }
      if (this.closed) return { value: undefined, done: true };
      if (!this.synced) {
        const head = this.store.headRevision;
        if (this.nextRev > head) {
          // Checked synchronously after the last await: from here on, offer() sees every commit.
          this.synced = true;
          continue;
        }
        const exact = this.filter.prefix ? undefined : this.filter.key;
        const got = await this.store.range(this.nextRev, head, this.readBatch, exact);
        const full = got.length === this.readBatch;
        const reached = full ? got[got.length - 1]!.revision : head;
        const out = got.filter((r) => r.revision >= this.nextRev && matches(this.filter, r.key));
        this.nextRev = reached + 1;
        if (out.length > 0) {
          this.deliveredUpTo = out[out.length - 1]!.revision;
          this.lastFromLog = true;
          return { value: out, done: false };
        }
        this.deliveredUpTo = reached;
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<LogRecord[]>> {
    this.close();
    this.buffer = [];
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
