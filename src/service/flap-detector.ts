import type { LogRecord } from "@ctm/core/record";
import type { LogStore } from "../storage/log-store.js";

export interface FlappingKey {
  key: string;
  /** Client changes within the window, counted up to one more than the changes allowed. */
  changes: number;
  /** The authors of the last changes, newest first. */
  authors: string[];
  /** Unix ms of its first change in the window. */
  since: number;
}

/** Keys followed at once at most; the oldest is forgotten first (flapping needs recent changes). */
const MAX_KEYS = 10_000;
/**
 * Keys forgotten at once when MAX_KEYS is reached. A Map's first key is found by stepping over
 * the slots of keys deleted before it until the map is next rehashed: forgetting one key per new
 * one made a commit of 100,000 keys hold the event loop for seconds.
 */
const FORGET = MAX_KEYS / 10;
const AUTHORS = 5;
/**
 * Records noted in one turn of the event loop. A commit of a whole prefix is noted over the
 * turns after it, in order: noting 100,000 records at once held the loop about 45 ms, as long
 * as making them visible.
 */
const PER_TURN = 2048;

/**
 * Notices keys that clients change too often: more than `changes` within `windowMs` of record
 * time. Only client writes count (cause "api"): rollout milestones and compactions change keys
 * on a schedule. `onFlapping` is told once when a key starts flapping; `flapping` lists the
 * keys that flap now, for a metric.
 */
export class FlapDetector {
  private readonly recent = new Map<string, { times: number[]; authors: string[] }>();
  private readonly unsubscribe: () => void;
  /** Committed records not noted yet, oldest first; `offset` of the first batch are done. */
  private readonly pending: (readonly LogRecord[])[] = [];
  private offset = 0;
  private budget = PER_TURN;
  private nextTurn: NodeJS.Immediate | undefined;

  constructor(
    store: LogStore,
    private readonly changes: number,
    private readonly windowMs: number,
    private readonly onFlapping: (k: FlappingKey) => void,
  ) {
    this.unsubscribe = store.onCommit((records) => {
      this.pending.push(records);
      this.drain();
    });
  }

  close(): void {
    this.unsubscribe();
    clearImmediate(this.nextTurn);
    this.nextTurn = undefined;
  }

  /** Committed records not noted yet: a large commit is noted over the next turns of the event loop. */
  get backlog(): number {
    return this.pending.reduce((n, b) => n + b.length, 0) - this.offset;
  }

  private drain(): void {
    while (this.pending.length > 0 && this.budget > 0) {
      const batch = this.pending[0]!;
      const end = Math.min(batch.length, this.offset + this.budget);
      this.note(batch, this.offset, end);
      this.budget -= end - this.offset;
      if (end < batch.length) this.offset = end;
      else {
        this.pending.shift();
        this.offset = 0;
      }
    }
    // The budget is per turn: the next one gets a new budget and the rest of the backlog.
    this.nextTurn ??= setImmediate(() => {
      this.nextTurn = undefined;
      this.budget = PER_TURN;
      if (this.pending.length > 0) this.drain();
    });
  }

  /** The keys flapping as of `now`: more than `changes` client changes in the window before it. */
  flapping(now: number): FlappingKey[] {
    const out: FlappingKey[] = [];
    for (const [key, e] of this.recent) {
      const times = e.times.filter((t) => t > now - this.windowMs);
      if (times.length > this.changes) out.push({ key, changes: times.length, authors: [...e.authors], since: times[0]! });
      else if (times.length === 0) this.recent.delete(key);
    }
    return out;
  }

  private forgetOldest(): void {
    let n = FORGET;
    for (const key of this.recent.keys()) {
      this.recent.delete(key);
      if (--n === 0) return;
    }
  }

  private note(records: readonly LogRecord[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const r = records[i]!;
      if (r.cause !== "api") continue;
      const e = this.recent.get(r.key);
      if (e === undefined) {
        if (this.recent.size >= MAX_KEYS) this.forgetOldest();
        // Made holding this change: a push onto an empty array reserves room for 17, and a commit
        // of a whole prefix makes an entry for each of its keys. One change never flaps
        // (`changes` is at least 1).
        this.recent.set(r.key, { times: [r.time], authors: [r.author] });
        continue;
      }
      // Only the times in the window before this change matter, and only the last changes + 1.
      while (e.times.length > 0 && e.times[0]! <= r.time - this.windowMs) e.times.shift();
      const before = e.times.length;
      e.times.push(r.time);
      if (e.times.length > this.changes + 1) e.times.shift();
      e.authors.unshift(r.author);
      if (e.authors.length > AUTHORS) e.authors.pop();
      if (before <= this.changes && e.times.length > this.changes) this.onFlapping({ key: r.key, changes: e.times.length, authors: [...e.authors], since: e.times[0]! });
    }
  }
}
