import { CtmError, unavailable } from "../domain/errors.js";
import type { LogRecord } from "@ctm/core/record";
import type { AccessRecord } from "../storage/access-log-store.js";
import type { FollowerStore, WriterReads } from "../storage/follower-store.js";
import { cbor } from "../storage/level/codec.js";
import type { InternalCall, InternalReply } from "../transport/grpc/internal-calls.js";
import type { ReadOp, ToPrimary, ToWorker } from "./worker-messages.js";

/** Access records a worker holds before it sends them, and how often it sends what it has. */
const ACCESS_BATCH = 1000;
const ACCESS_FLUSH_MS = 50;
/** Read counts are for reports over days: a second's delay costs nothing, and batches more. */
const READS_FLUSH_MS = 1000;

export interface PrimaryEvents {
  serving(serving: boolean): void;
  metrics(): Promise<unknown>;
  reloadTls(): void;
  stop(): void;
}

/**
 * A read worker's end of the IPC channel to the primary: it loads and follows the primary's
 * commits into the FollowerStore, answers the store's history reads by asking the primary, and
 * sends the access records of the Gets it served in batches.
 */
export class PrimaryLink implements WriterReads {
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private outbox: { id: number; call: InternalCall }[] = [];
  private access: AccessRecord[] = [];
  private accessTimer: NodeJS.Timeout | undefined;
  private readonly reads = new Map<string, [string, number, number]>();
  private readsTimer: NodeJS.Timeout | undefined;
  private loaded: (() => void) | undefined;
  private store: FollowerStore | undefined;

  constructor(private readonly events: PrimaryEvents) {
    process.on("message", (m: ToWorker) => this.receive(m));
    // The primary is gone (it exited, or was killed): nothing is left to follow.
    process.on("disconnect", () => {
      this.store?.fail(unavailable("the primary process is gone"));
      for (const w of this.waiting.values()) w.reject(unavailable("the primary process is gone"));
      this.waiting.clear();
      events.stop();
    });
  }

  /** Resolves once `store` holds the primary's latest records and follows its commits. */
  follow(store: FollowerStore): Promise<void> {
    this.store = store;
    const loaded = new Promise<void>((resolve) => (this.loaded = resolve));
    this.send({ t: "hello" });
    return loaded;
  }

  pageAt(...args: Parameters<WriterReads["pageAt"]>): ReturnType<WriterReads["pageAt"]> {
    return this.read("pageAt", args) as ReturnType<WriterReads["pageAt"]>;
  }
  at(key: string, revision: number): Promise<LogRecord | undefined> {
    return this.read("at", [key, revision]) as Promise<LogRecord | undefined>;
  }
  version(key: string, version: number): Promise<LogRecord | undefined> {
    return this.read("version", [key, version]) as Promise<LogRecord | undefined>;
  }
  history(key: string, limit: number, beforeRevision?: number): Promise<LogRecord[]> {
    return this.read("history", [key, limit, beforeRevision]) as Promise<LogRecord[]>;
  }
  revisionAt(time: number): Promise<number> {
    return this.read("revisionAt", [time]) as Promise<number>;
  }
  range(from: number, to: number, limit: number, key?: string): Promise<LogRecord[]> {
    return this.read("range", [from, to, limit, key]) as Promise<LogRecord[]>;
  }
  async readNote(name: string): Promise<Buffer | undefined> {
    const v = (await this.read("readNote", [name])) as Uint8Array | undefined;
    return v && Buffer.from(v);
  }

  /** Counts a Get; sent to the primary with the access records (ReadSink). */
  touch(key: string, now: number): void {
    const e = this.reads.get(key);
    if (e === undefined) this.reads.set(key, [key, 1, now]);
    else {
      e[1]++;
      e[2] = now;
    }
    this.readsTimer ??= setTimeout(() => this.flushReads(), READS_FLUSH_MS);
  }

  flushReads(): void {
    clearTimeout(this.readsTimer);
    this.readsTimer = undefined;
    if (this.reads.size === 0) return;
    this.send({ t: "reads", entries: [...this.reads.values()] });
    this.reads.clear();
  }

  /** Queues one access record; never blocks or throws (AccessSink). */
  record(r: AccessRecord): void {
    this.access.push(r);
    if (this.access.length >= ACCESS_BATCH) this.flushAccess();
    else this.accessTimer ??= setTimeout(() => this.flushAccess(), ACCESS_FLUSH_MS);
  }

  flushAccess(): void {
    clearTimeout(this.accessTimer);
    this.accessTimer = undefined;
    if (this.access.length === 0) return;
    this.send({ t: "access", records: this.access });
    this.access = [];
  }

  send(m: ToPrimary): void {
    if (process.connected) process.send!(m);
  }

  /** Hands a call to the primary (see InternalCalls), with the others of this turn of the event loop. */
  call(call: InternalCall): Promise<InternalReply> {
    if (!process.connected) return Promise.reject(unavailable("the primary process is gone"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.outbox.push({ id, call });
      if (this.outbox.length === 1) setImmediate(() => this.flushCalls());
    });
  }

  private flushCalls(): void {
    const calls = this.outbox;
    this.outbox = [];
    this.send({ t: "calls", calls });
  }

  private read(op: ReadOp, args: unknown[]): Promise<unknown> {
    return this.ask((id) => ({ t: "read", id, op, args }));
  }

  private ask(message: (id: number) => ToPrimary): Promise<unknown> {
    if (!process.connected) return Promise.reject(unavailable("the primary process is gone"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.send(message(id));
    });
  }

  private receive(m: ToWorker): void {
    switch (m.t) {
      case "load":
        this.store!.load(cbor.decode(m.records) as LogRecord[], m.revision, { revision: m.first, time: m.firstTime });
        if (m.done) this.loaded?.();
        return;
      case "commit":
        this.store!.raiseHorizon({ revision: m.first, time: m.firstTime });
        return this.store!.apply(cbor.decode(m.records) as LogRecord[]);
      case "reply": {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (!w) return;
        if (m.error) w.reject(new CtmError(m.error.code, m.error.message, m.error.field, m.error.details));
        else w.resolve(m.value === undefined ? undefined : cbor.decode(m.value));
        return;
      }
      case "called":
        for (const { id, reply } of m.replies) {
          this.waiting.get(id)?.resolve(reply);
          this.waiting.delete(id);
        }
        return;
      case "serving":
        return this.events.serving(m.serving);
      case "metrics":
        void this.events.metrics().then((json) => this.send({ t: "metrics", id: m.id, json }));
        return;
      case "reload-tls":
        return this.events.reloadTls();
      case "stop":
        return this.events.stop();
    }
  }
}
