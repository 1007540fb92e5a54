import type { Clock } from "../domain/clock.js";
import type { LogStore } from "../storage/log-store.js";

/** Told of every Get of a key that exists (ConfigService.resolve). Never blocks or throws. */
export interface ReadSink {
  touch(key: string, now: number): void;
}

/** How often a key was read, and when last; counted since the store began keeping them. */
export interface KeyReads {
  reads: number;
  /** Unix ms; 0 when never read. */
  lastRead: number;
}

/** Notes under this prefix hold a key's counts: `reads/<key>` -> "<reads> <lastRead>". */
const NOTE_PREFIX = "reads/";
const SINCE_NOTE = "reads-since";
/** Notes written per batch: a flush of many keys gives the event loop a turn between batches. */
const FLUSH_BATCH = 2000;

/**
 * The Get counters ctmd keeps per key, for stale-key reports and the delete guard. Counted in
 * memory on every Get (read workers send theirs as deltas, see merge), and saved as notes
 * beside the log every `flushMs` and at close: not history, so a crash may lose the last
 * interval's counts, never a record.
 */
export class ReadStats implements ReadSink {
  private readonly byKey = new Map<string, KeyReads>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** When this store began counting reads: a key never read has been unread at least since. */
  since = 0;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly flushMs = 10_000,
  ) {}

  /** Reads the counts saved before. */
  async load(): Promise<void> {
    const since = await this.store.readNote(SINCE_NOTE);
    this.since = since === undefined ? this.clock.now() : Number(since.toString("latin1"));
    if (since === undefined) await this.store.writeNote(SINCE_NOTE, Buffer.from(String(this.since), "latin1"));
    for await (const [name, value] of this.store.notes(NOTE_PREFIX)) {
      const [reads, lastRead] = value.toString("latin1").split(" ").map(Number);
      if (Number.isSafeInteger(reads) && Number.isSafeInteger(lastRead)) this.byKey.set(name.slice(NOTE_PREFIX.length), { reads: reads!, lastRead: lastRead! });
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  touch(key: string, now: number): void {
    const e = this.byKey.get(key);
    if (e === undefined) this.byKey.set(key, { reads: 1, lastRead: now });
    else {
      e.reads++;
      if (now > e.lastRead) e.lastRead = now;
    }
    this.dirty.add(key);
  }

  /** Counts a read worker gathered since its last report. */
  merge(deltas: readonly (readonly [string, number, number])[]): void {
    for (const [key, reads, lastRead] of deltas) {
      const e = this.byKey.get(key);
      if (e === undefined) this.byKey.set(key, { reads, lastRead });
      else {
        e.reads += reads;
        if (lastRead > e.lastRead) e.lastRead = lastRead;
      }
      this.dirty.add(key);
    }
  }

  of(key: string): KeyReads {
    return this.byKey.get(key) ?? { reads: 0, lastRead: 0 };
  }

  /** Saves what changed since the last flush; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.dirty.size === 0 || !this.store.healthy) return;
      const keys = [...this.dirty];
      this.dirty.clear();
      for (let i = 0; i < keys.length; i += FLUSH_BATCH) {
        const batch = keys.slice(i, i + FLUSH_BATCH).map((k) => {
          const e = this.byKey.get(k)!;
          return [NOTE_PREFIX + k, Buffer.from(`${e.reads} ${e.lastRead}`, "latin1")] as const;
        });
        try {
          await this.store.writeNotes(batch);
        } catch {
          // Counts, not history: the next flush writes them again.
          for (const [name] of batch) this.dirty.add(name.slice(NOTE_PREFIX.length));
          return;
        }
      }
    });
    return this.flushing;
  }
}
