import { outOfRange } from "../domain/errors.js";
import type { LogRecord } from "@ctm/core/record";
import type { LogStore } from "../storage/log-store.js";
import { Watcher, type WatchFilter } from "./watcher.js";

export interface WatchHubOptions {
  /** Records a watcher may hold before it falls back to reading the log. */
  bufferLimit?: number;
  /** Records read from the log per step while catching up. */
  readBatch?: number;
}

/**
 * Fans committed records out to watchers. Exact-key watchers are found by one
 * map lookup; prefix watchers by a scan of the (few) prefixes.
 */
export class WatchHub {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly prefixed = new Set<Watcher>();
  private readonly unsubscribe: () => void;
  private readonly bufferLimit: number;
  private readonly readBatch: number;

  constructor(
    private readonly store: LogStore,
    opts: WatchHubOptions = {},
  ) {
    this.bufferLimit = opts.bufferLimit ?? 1024;
    this.readBatch = opts.readBatch ?? 512;
    this.unsubscribe = store.onCommit((records) => this.publish(records));
  }

  get size(): number {
    let n = this.prefixed.size;
    for (const s of this.byKey.values()) n += s.size;
    return n;
  }

  /**
   * `startRevision` 0 means from the next commit on. A start below the oldest
   * revision kept is OUT_OF_RANGE naming it, as point reads answer (etcd's contract).
   */
  watch(filter: WatchFilter, startRevision: number): Watcher {
    const oldest = this.store.firstRevision;
    if (startRevision !== 0 && startRevision < oldest) {
      throw outOfRange("start_revision", `revision ${startRevision} was compacted; the oldest revision served is ${oldest}: read a Snapshot, then watch from its revision + 1`, { oldest });
    }
    const start = startRevision === 0 ? this.store.headRevision + 1 : startRevision;
    const w = new Watcher(filter, start, this.store, this.bufferLimit, this.readBatch, (x) => this.remove(x));
    if (filter.prefix) this.prefixed.add(w);
    else {
      let set = this.byKey.get(filter.key);
      if (!set) this.byKey.set(filter.key, (set = new Set()));
      set.add(w);
    }
    return w;
  }

  /** Ends every watcher (their iterators finish); used when the daemon drains. */
  close(): void {
    this.unsubscribe();
    for (const w of [...this.prefixed]) w.close();
    for (const set of [...this.byKey.values()]) for (const w of [...set]) w.close();
  }

  private publish(records: readonly LogRecord[]): void {
    for (const w of this.prefixed) w.offer(records);
    if (this.byKey.size === 0) return;
    if (records.length === 1) {
      const set = this.byKey.get(records[0]!.key);
      if (set) for (const w of set) w.offer(records);
      return;
    }
    const keys = new Set(records.map((r) => r.key));
    for (const k of keys) {
      const set = this.byKey.get(k);
      if (set) for (const w of set) w.offer(records);
    }
  }

  private remove(w: Watcher): void {
    if (w.filter.prefix) {
      this.prefixed.delete(w);
      return;
    }
    const set = this.byKey.get(w.filter.key);
    set?.delete(w);
    if (set?.size === 0) this.byKey.delete(w.filter.key);
  }
}
