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

/**
 * Notes under this prefix hold a key's counts: `reads/<key>` -> "<reads> <lastRead>"; with
 * replicas sharing one store, each saves only its own, as `reads/<key>@<replica>`.
 */
const NOTE_PREFIX = "reads/";
/** Replicas read the others' counts again this often (they save theirs every flushMs). */
const REFRESH_MS = 5 * 60_000;
/** What a replica's name looks like (see replicaId): what follows a note's last "@". */
const REPLICA = /^[0-9a-f]{16}$/;
const SINCE_NOTE = "reads-since";
/** Notes written per batch: a flush of many keys gives the event loop a turn between batches. */
const FLUSH_BATCH = 2000;
/** Keys saved per flush: the rest wait for the next, so a flood of reads never floods the disk. */
const FLUSH_MAX = 50_000;

/** A key's counts: this process's own (saved by it), and the other replicas' as last read. */
interface Counts {
  reads: number;
  lastRead: number;
  otherReads: number;
  otherLastRead: number;
  dirty: boolean;
}

/**
 * The Get counters ctmd keeps per key, for stale-key reports and the delete guard. Counted in
 * memory on every Get (read workers send theirs as deltas, see merge), and saved as notes
 * beside the log every `flushMs` and at close: not history, so a crash may lose the last
 * interval's counts, never a record. Replicas that share a store (`replica` names this one)
 * each save their own counts and add up everyone's, so none overwrites another's.
 */
export class ReadStats implements ReadSink {
  // One map lookup per Get: an entry carries whether it waits to be saved, and the keys that do
  // wait are listed once each.
  private readonly byKey = new Map<string, Counts>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private dirty: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private loaded: Promise<void> | undefined;
  /**
   * When this store began counting reads: a key never read has been unread at least since.
   * Now, until the saved start is read back: nothing counts as unread for long before that.
   */
  since: number;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly flushMs = 10_000,
    private readonly replica?: string,
  ) {
    this.since = clock.now();
  }

  /**
   * Reads the counts saved before, in the background: start-up does not wait for a note per key
   * read. Gets counted meanwhile are added to them, and nothing is saved until they are in.
   */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      const since = await this.store.readNote(SINCE_NOTE);
      this.since = since === undefined ? this.clock.now() : Number(since.toString("latin1"));
      if (since === undefined) await this.store.writeNote(SINCE_NOTE, Buffer.from(String(this.since), "latin1"));
      await this.readSaved(this.store.notes(NOTE_PREFIX), true);
    })();
    return this.loaded;
  }

  /**
   * Adds the counts in `saved` (notes under NOTE_PREFIX): this replica's own to its own, at load
   * (`own`), and every other replica's in place of what was read of them before.
   */
  private async readSaved(saved: AsyncIterable<[string, Buffer]>, own: boolean): Promise<void> {
    const others = new Map<string, { reads: number; lastRead: number }>();
    let n = 0;
    for await (const [name, value] of saved) {
      if (++n % 10_000 === 0) await new Promise((r) => setImmediate(r));
      const [reads, lastRead] = value.toString("latin1").split(" ").map(Number);
      if (!Number.isSafeInteger(reads) || !Number.isSafeInteger(lastRead)) continue;
      const at = this.replica === undefined ? -1 : name.lastIndexOf("@");
      if (this.replica !== undefined && (at < 0 || !REPLICA.test(name.slice(at + 1)))) continue;
      const key = name.slice(NOTE_PREFIX.length, at < 0 ? undefined : at);
      if (this.replica === undefined || name.slice(at + 1) === this.replica) {
        if (!own) continue;
        const e = this.entry(key);
        e.reads += reads!;
        if (lastRead! > e.lastRead) e.lastRead = lastRead!;
      } else {
        const o = others.get(key) ?? { reads: 0, lastRead: 0 };
        o.reads += reads!;
        o.lastRead = Math.max(o.lastRead, lastRead!);
        others.set(key, o);
      }
    }
    for (const [key, o] of others) {
      const e = this.entry(key);
      e.otherReads = o.reads;
      e.otherLastRead = o.lastRead;
    }
  }

  private entry(key: string): Counts {
    let e = this.byKey.get(key);
    if (e === undefined) {
      e = { reads: 0, lastRead: 0, otherReads: 0, otherLastRead: 0, dirty: false };
      this.byKey.set(key, e);
    }
    return e;
  }

  /**
   * Reads what the other replicas saved of these keys now, for a decision that must count every
   * replica's reads (the delete guard); at once without replicas. All the keys' notes are read
   * together: an Apply that deletes many keys costs the store a few reads, not one per key.
   */
  async refresh(keys: readonly string[]): Promise<void> {
    await this.ready();
    if (this.replica === undefined) return;
    for (const k of keys) {
      const e = this.entry(k);
      e.otherReads = 0;
      e.otherLastRead = 0;
    }
    await this.readSaved(this.store.notesUnder(keys.map((k) => `${NOTE_PREFIX}${k}@`)), false);
  }

  /** Resolves once the saved counts are in (at once when load was never called). */
  async ready(): Promise<void> {
    await this.loaded?.catch(() => undefined);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
    if (this.replica !== undefined) {
      this.refreshTimer = setInterval(() => void this.readSaved(this.store.notes(NOTE_PREFIX), false).catch(() => undefined), REFRESH_MS);
      this.refreshTimer.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.refreshTimer);
    await this.flush();
  }

  touch(key: string, now: number): void {
    const e = this.byKey.get(key);
    if (e === undefined) {
      this.byKey.set(key, { reads: 1, lastRead: now, otherReads: 0, otherLastRead: 0, dirty: true });
      this.dirty.push(key);
      return;
    }
    e.reads++;
    if (now > e.lastRead) e.lastRead = now;
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.push(key);
    }
  }

  /** Counts a read worker gathered since its last report. */
  merge(deltas: readonly (readonly [string, number, number])[]): void {
    for (const [key, reads, lastRead] of deltas) {
      const e = this.byKey.get(key);
      if (e === undefined) {
        this.byKey.set(key, { reads, lastRead, otherReads: 0, otherLastRead: 0, dirty: true });
        this.dirty.push(key);
        continue;
      }
      e.reads += reads;
      if (lastRead > e.lastRead) e.lastRead = lastRead;
      if (!e.dirty) {
        e.dirty = true;
        this.dirty.push(key);
      }
    }
  }

  of(key: string): KeyReads {
    const e = this.byKey.get(key);
    return e === undefined ? { reads: 0, lastRead: 0 } : { reads: e.reads + e.otherReads, lastRead: Math.max(e.lastRead, e.otherLastRead) };
  }

  private noteName(key: string): string {
    return this.replica === undefined ? NOTE_PREFIX + key : `${NOTE_PREFIX}${key}@${this.replica}`;
  }

  /** Saves what changed since the last flush (at most FLUSH_MAX keys of it); one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      await this.loaded?.catch(() => undefined);
      if (this.dirty.length === 0 || !this.store.healthy) return;
      const keys = this.dirty.slice(0, FLUSH_MAX);
      this.dirty = this.dirty.slice(FLUSH_MAX);
      for (const k of keys) this.byKey.get(k)!.dirty = false;
      for (let i = 0; i < keys.length; i += FLUSH_BATCH) {
        const batch = keys.slice(i, i + FLUSH_BATCH).map((k) => {
          const e = this.byKey.get(k)!;
          return [this.noteName(k), Buffer.from(`${e.reads} ${e.lastRead}`, "latin1")] as const;
        });
        try {
          await this.store.writeNotes(batch);
        } catch {
          // Counts, not history: the next flush writes them again.
          for (const k of keys.slice(i)) {
            const e = this.byKey.get(k)!;
            if (!e.dirty) {
              e.dirty = true;
              this.dirty.push(k);
            }
          }
          return;
        }
      }
    });
    return this.flushing;
  }
}
