import type { JsonValue } from "@ctm/core/json";
import type { CtmClient } from "./client.js";
import type { Context } from "./convert.js";
import { evaluateEntry, truthy, type Evaluation } from "./evaluate.js";
import type { Entry } from "./gen/ctm/v1/record.js";
import { backoffDelay, DEFAULT_WATCH_BACKOFF, sleep } from "./retry.js";
import { readSnapshotFile, writeSnapshotFile } from "./snapshot-file.js";
import type { WatchIterator } from "./watch.js";

export interface CacheOptions {
  /** Cache every key under this prefix ("" caches everything). */
  prefix?: string;
  /** Or exactly these keys: one prefix watch on their longest common prefix, filtered. */
  keys?: string[];
  /**
   * A snapshot file (see saveSnapshot) to serve from until the daemon answers. A missing
   * file is not an error (first start); an unreadable one is reported through onError.
   */
  bootstrapFile?: string;
  /** Deadline of each seeding Snapshot call (default: the client's). */
  snapshotDeadlineMs?: number;
}

/** A key that changed: its new entry (a tombstone for a delete), or undefined when a re-seed found it gone. */
export interface CacheChange {
  key: string;
  entry: Entry | undefined;
}

export type CacheSource = "none" | "bootstrap" | "daemon";

/**
 * A local copy of a prefix (or a set of keys): seeded by Snapshot, then kept fresh by a
 * Watch from the snapshot's revision + 1, which resumes across disconnects. Reads are local:
 * `get(key, context)` evaluates rollouts with the daemon's own code and costs no RPC. While
 * the daemon is unreachable the cache keeps serving the last values it had (or those of the
 * bootstrap file) and keeps trying to reconnect; when a watch cannot resume (e.g. the daemon's
 * store was replaced), it re-seeds from a fresh Snapshot.
 */
export class CtmCache {
  /** The revision the cache reflects: the seeding snapshot's, then the last event's. */
  revision = 0;
  /** Where the data comes from: nothing yet, the bootstrap file, or the daemon. */
  source: CacheSource = "none";
  /** Whether a watch stream to the daemon is established right now. */
  connected = false;
  /** The last error met while syncing (the cache retries on its own). */
  lastError: Error | undefined;
  readonly prefix: string;
  private readonly keySet: ReadonlySet<string> | undefined;
  private entries = new Map<string, Entry>();
  private readonly changeListeners = new Set<(c: CacheChange) => void>();
  private readonly stateListeners = new Set<(s: { connected: boolean; source: CacheSource; error?: Error }) => void>();
  private readonly errorListeners = new Set<(e: Error) => void>();
  private readonly stop = new AbortController();
  private watch: WatchIterator | undefined;
  private readyWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly client: CtmClient,
    private readonly opts: CacheOptions,
  ) {
    if (opts.keys !== undefined) {
      if (opts.keys.length === 0) throw new Error("cache: keys must not be empty");
      if (opts.prefix !== undefined) throw new Error("cache: give prefix or keys, not both");
      this.keySet = new Set(opts.keys);
      this.prefix = commonPrefix(opts.keys);
    } else {
      this.prefix = opts.prefix ?? "";
    }
    void this.start();
  }

  // ---- reads (local, no RPC) ----

  /** The value `key` resolves to for `context` (at `now`, default the client's clock), or undefined when the key is absent. */
  get(key: string, context?: Context, now: number = this.client.clock()): Evaluation | undefined {
    const e = this.entries.get(key);
    return e === undefined ? undefined : evaluateEntry(e, context, now);
  }

  /** The resolved value, or `fallback` when the key is absent. */
  value<T extends JsonValue | undefined = JsonValue | undefined>(key: string, context?: Context, fallback?: T): JsonValue | T {
    const r = this.get(key, context);
    return r === undefined || r.value === undefined ? (fallback as T) : r.value;
  }

  /** Whether the flag resolves truthy for this unit (false for an absent key). See truthy(). */
  isOn(key: string, context?: Context): boolean {
    return truthy(this.get(key, context)?.value);
  }

  /** Runs `fn` with the resolved value only when the flag is on for this unit; returns its result, else undefined. */
  guard<T>(key: string, context: Context | undefined, fn: (value: JsonValue) => T): T | undefined {
    const r = this.get(key, context);
    return r !== undefined && truthy(r.value) ? fn(r.value as JsonValue) : undefined;
  }

  /** The raw entry of a live key. */
  entry(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  keys(): string[] {
    return [...this.entries.keys()].sort();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether this cache follows `key`. */
  covers(key: string): boolean {
    return this.keySet ? this.keySet.has(key) : key.startsWith(this.prefix);
  }

  // ---- lifecycle and notifications ----

  /** Resolves once the cache holds data (bootstrap or daemon); rejects after `timeoutMs` or on close. */
  ready(o: { timeoutMs?: number } = {}): Promise<void> {
    if (this.source !== "none") return Promise.resolve();
    if (this.closed) return Promise.reject(new Error("cache closed"));
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        if (this.source !== "none") resolve();
        else reject(new Error("cache closed before it had data"));
      };
      this.readyWaiters.push(done);
      if (o.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
          reject(new Error(`cache had no data after ${o.timeoutMs} ms${this.lastError ? `: ${this.lastError.message}` : ""}`));
        }, o.timeoutMs);
      }
    });
  }

  /** Calls `listener` for every change; returns the unsubscribe function. */
  onChange(listener: (c: CacheChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Calls `listener` when the connection to the daemon comes or goes, or the source changes. */
  onState(listener: (s: { connected: boolean; source: CacheSource; error?: Error }) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Calls `listener` with sync errors (the cache keeps retrying on its own). */
  onError(listener: (e: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Resolves with the next entry of `key` that reaches the cache (a tombstone for a delete),
   * or with undefined after `timeoutMs`: a timeout does not reject.
   */
  waitForChange(key: string, timeoutMs: number): Promise<Entry | undefined> {
    return new Promise((resolve) => {
      const off = this.onChange((c) => {
        if (c.key !== key || c.entry === undefined) return;
        clearTimeout(timer);
        off();
        resolve(c.entry);
      });
      const timer = setTimeout(() => {
        off();
        resolve(undefined);
      }, timeoutMs);
    });
  }

  /** Writes what the cache holds now as a bootstrap file (works while the daemon is down). */
  saveSnapshot(path: string): Promise<void> {
    const entries = [...this.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return writeSnapshotFile(path, { revision: this.revision, entries });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.watch?.close();
    for (const w of this.readyWaiters.splice(0)) w();
  }

  // ---- sync ----

  private async start(): Promise<void> {
    const file = this.opts.bootstrapFile;
    if (file !== undefined) {
      try {
        const snap = await readSnapshotFile(file);
        if (this.source === "none" && !this.closed) this.replace(snap.entries, snap.revision, "bootstrap");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") this.report(new Error(`bootstrap file ${file}: ${(e as Error).message}`, { cause: e }));
      }
    }
    await this.run();
  }

  private async run(): Promise<void> {
    const policy = { ...DEFAULT_WATCH_BACKOFF };
    let attempt = 0;
    while (!this.closed) {
      try {
        const snap = await this.client.snapshot({ prefix: this.prefix, signal: this.stop.signal, deadlineMs: this.opts.snapshotDeadlineMs });
        if (this.closed) return;
        // `revision` is the exact point of the snapshot (header.revision is the head when the response was built).
        this.replace(snap.entries, snap.revision || (snap.header?.revision ?? 0), "daemon");
        attempt = 0;
        const w = this.client.watch(this.prefix, {
          prefix: true,
          startRevision: this.revision + 1,
          signal: this.stop.signal,
          onState: (s) => this.setConnected(s.connected, s.error),
        });
        this.watch = w;
        for await (const e of w) this.apply(e);
        // The iterator only ends when the cache is closed.
      } catch (e) {
        if (this.closed) return;
        const err = e instanceof Error ? e : new Error(String(e));
        this.setConnected(false, err);
        this.report(err);
        await sleep(backoffDelay(policy, attempt++), this.stop.signal);
      }
    }
  }

  private wants(key: string): boolean {
    return this.keySet ? this.keySet.has(key) : key.startsWith(this.prefix);
  }

  private replace(entries: Entry[], revision: number, source: CacheSource): void {
    const next = new Map<string, Entry>();
    for (const e of entries) if (!e.deleted && this.wants(e.key)) next.set(e.key, e);
    const changes: CacheChange[] = [];
    for (const [k, e] of next) if (this.entries.get(k)?.revision !== e.revision) changes.push({ key: k, entry: e });
    for (const k of this.entries.keys()) if (!next.has(k)) changes.push({ key: k, entry: undefined });
    this.entries = next;
    this.revision = revision;
    const sourceChanged = this.source !== source;
    this.source = source;
    for (const w of this.readyWaiters.splice(0)) w();
    for (const c of changes) this.emitChange(c);
    if (sourceChanged) this.emitState();
  }

  private apply(e: Entry): void {
    if (e.revision <= this.revision) return;
    this.revision = e.revision;
    if (!this.wants(e.key)) return;
    if (e.deleted) this.entries.delete(e.key);
    else this.entries.set(e.key, e);
    this.emitChange({ key: e.key, entry: e });
  }

  private setConnected(connected: boolean, error?: Error): void {
    if (error) this.lastError = error;
    if (connected === this.connected) return;
    this.connected = connected;
    this.emitState(error);
  }

  private report(e: Error): void {
    this.lastError = e;
    for (const l of this.errorListeners) isolate(() => l(e));
  }

  private emitChange(c: CacheChange): void {
    for (const l of this.changeListeners) isolate(() => l(c));
  }

  private emitState(error?: Error): void {
    const s = error ? { connected: this.connected, source: this.source, error } : { connected: this.connected, source: this.source };
    for (const l of this.stateListeners) isolate(() => l(s));
  }
}

/** A listener that throws must not stop the cache's sync loop. */
function isolate(f: () => void): void {
  try {
    f();
  } catch (e) {
    process.emitWarning(`ctm cache listener threw: ${e instanceof Error ? e.stack : String(e)}`);
  }
}

export function commonPrefix(keys: readonly string[]): string {
  let p = keys[0] ?? "";
  for (const k of keys) {
    let i = 0;
    while (i < p.length && i < k.length && p[i] === k[i]) i++;
    p = p.slice(0, i);
  }
  return p;
}

