import type { ClientDuplexStream } from "@grpc/grpc-js";
import { CtmError, unavailable } from "../../domain/errors.js";
import type { LogRecord } from "@ctm/core/record";
import type { WatchRequest, WatchResponse } from "../../gen/etcd/etcdserverpb/rpc.js";
import { Event_EventType as EventType } from "../../gen/etcd/mvccpb/kv.js";
import { readU64 } from "../level/codec.js";
import { decodeLogValue, recordHash } from "../level/record-bytes.js";
import type { AppliedLog } from "./applied-log.js";
import type { EtcdClient } from "./etcd-client.js";
import { decodeHorizon } from "./etcd-horizon.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { readOp } from "./etcd-ops.js";
import { etcdPages } from "./etcd-pages.js";
import { errorText } from "./error-text.js";
import { readHead } from "./head-value.js";
import type { RecordStamper } from "./record-stamper.js";
import type { ServedHorizon } from "./served-horizon.js";
import type { StoreStatus } from "./store-status.js";

/**
 * Follows what other replicas commit: an etcd watch on the log and meta/ brings their records,
 * meta/indexed and meta/horizon, and the records are applied in revision order, each checked
 * against the hash of the one before, once meta/head shows them committed. When the watch is
 * lost, or a commit of this replica's finds the head moved, a catch-up reads them from etcd.
 */
export class EtcdFollower {
  private stream: ClientDuplexStream<WatchRequest, WatchResponse> | undefined;
  private watchFrom = 0n;
  private readonly seen = new Map<number, Buffer>();
  /** The last revision of this replica's commit transaction in flight; 0 when none. */
  inFlightTo = 0;
  private catching: Promise<void> | undefined;
  /** The watch started again past history etcd had compacted: what it skipped is not replayed. */
  private watchSkipped = false;

  constructor(
    private readonly client: () => EtcdClient,
    private readonly layout: EtcdLayout,
    private readonly horizon: ServedHorizon,
    private readonly log: AppliedLog,
    private readonly stamper: RecordStamper,
    private readonly status: StoreStatus,
    private readonly notify: (records: LogRecord[]) => void,
  ) {}

  /** The watch stream while there is one. */
  get watch(): ClientDuplexStream<WatchRequest, WatchResponse> | undefined {
    return this.stream;
  }

  stop(): void {
    const w = this.stream;
    this.stream = undefined;
    w?.cancel();
  }

  /** Reads etcd's head after the call and applies everything up to it (a consistent read). */
  async syncToHead(): Promise<void> {
    // A catch-up already under way may have read the head before this call: wait, then read again.
    if (this.catching) await this.catching.catch(() => undefined);
    await this.catchUp();
  }

  /** Forgets what the watch brought that is applied now. */
  forgetApplied(): void {
    for (const k of this.seen.keys()) if (k <= this.log.committedRev) this.seen.delete(k);
  }

  /** Reads every record above committedRev up to etcd's meta/head, and applies them. */
  catchUp(): Promise<void> {
    if (this.catching) return this.catching;
    this.catching = (async () => {
      try {
        const L = this.layout;
        const meta = await this.client().readTxn({ success: [readOp(L.head), readOp(L.horizon)] });
        const at = meta.header!.revision;
        const [kv, horizon] = meta.responses.map((r) => (r.response?.$case === "responseRange" ? r.response.value.kvs[0] : undefined));
        if (!kv) return;
        const below = decodeHorizon(horizon?.value);
        this.horizon.raise(below);
        const { rev } = readHead(kv.value);
        if (rev > this.log.committedRev) {
          for await (const kvs of etcdPages(this.client(), L.log(this.log.committedRev + 1), L.log(rev + 1), { at })) {
            for (const e of kvs) {
              const r = this.layout.revOfLog(e.key);
              // Below the horizon the record may have been stripped since the watch brought it as written.
              if (r >= below.revision || !this.seen.has(r)) this.seen.set(r, Buffer.from(e.value));
            }
          }
        }
        this.applySeen(rev);
        if (this.log.committedRev >= rev) this.watchSkipped = false;
      } finally {
        this.catching = undefined;
      }
    })();
    return this.catching;
  }

  /** Applies the records seen (by the watch or a catch-up) up to `head`, in revision order. */
  private applySeen(head: number): void {
    const applied: LogRecord[] = [];
    let behind = false;
    while (this.log.committedRev < head) {
      const bytes = this.seen.get(this.log.committedRev + 1);
      const stored = bytes && decodeLogValue(bytes);
      if (!stored || !stored.prev || !Buffer.from(stored.prev).equals(this.log.committedHash)) {
        // Below the horizon, compaction may have removed or stripped it after this replica fell behind.
        if (this.log.committedRev + 1 < this.horizon.current.revision) behind = true;
        else if (stored) this.status.failure ??= new CtmError("data_loss", `etcd store ${this.layout.prefix}: record ${this.log.committedRev + 1} does not follow the hash of the record before it`);
        break;
      }
      this.log.committedHash = recordHash(bytes);
      this.log.take(stored.record, bytes);
      applied.push(stored.record);
    }
    this.forgetApplied();
    if (applied.length > 0) {
      this.stamper.applied(applied);
      this.notify(applied);
    }
    if (behind) return this.fellBehind();
    if (this.status.failure) return;
    if (this.log.committedRev < head) void this.catchUp().catch(() => undefined);
  }

  /**
   * This replica has not applied everything below the horizon, and etcd's log there has gaps or
   * stripped records now. Its watch brings the records as they were written, in order, unless it
   * had to start again past history etcd compacted: then nothing can, and rather than serve a
   * gap the replica stops serving until it is restarted (which loads the store afresh).
   */
  private fellBehind(): void {
    if (!this.watchSkipped) return;
    this.status.failure ??= unavailable(
      `this replica applied the log up to revision ${this.log.committedRev}, was cut off from etcd past its own history while a compaction raised the horizon to ${this.horizon.current.revision}, and cannot follow across it: restart it`,
    );
  }

  follow(from: bigint): void {
    this.watchFrom = from;
    void (async () => {
      let stream: ClientDuplexStream<WatchRequest, WatchResponse>;
      try {
        stream = await this.client().watchStream();
      } catch {
        return this.refollow();
      }
      if (!this.status.open) return stream.cancel();
      this.stream = stream;
      const [key, rangeEnd] = this.layout.followRange;
      stream.write({ requestUnion: { $case: "createRequest", value: { key, rangeEnd, startRevision: from, progressNotify: true, prevKv: false, watchId: 0n, fragment: false } } });
      stream.on("data", (res: WatchResponse) => this.onWatch(res));
      // A member that dies ends the stream with an error; one that goes away politely, with an end.
      const lost = (): void => {
        if (this.stream === stream) this.refollow();
      };
      stream.on("error", lost);
      stream.on("end", lost);
      stream.on("close", lost);
    })();
  }

  private refollow(): void {
    this.stream = undefined;
    if (!this.status.open) return;
    this.client().failover();
    setTimeout(() => {
      if (!this.status.open) return;
      this.catchUp().then(
        () => this.follow(this.watchFrom),
        () => this.refollow(),
      );
    }, 200).unref();
  }

  private onWatch(res: WatchResponse): void {
    if (res.compactRevision > 0n || res.canceled) {
      // The watch fell below etcd's compaction: log keys at or above ctm's horizon are never
      // superseded, so reading them afresh from the head loses nothing there (below it, see fellBehind).
      this.watchFrom = res.compactRevision > this.watchFrom ? res.compactRevision : this.watchFrom;
      if (res.compactRevision > 0n) this.watchSkipped = true;
      this.stream?.cancel();
      return;
    }
    let head: number | undefined;
    for (const ev of res.events) {
      const kv = ev.kv;
      // Deletes are compaction's, of records this replica applied before their horizon came.
      if (!kv || ev.type === EventType.DELETE) continue;
      const key = Buffer.from(kv.key);
      if (key.equals(this.layout.head)) head = readHead(kv.value).rev;
      else if (key.equals(this.layout.indexed)) this.log.markIndexed(readU64(kv.value));
      else if (key.equals(this.layout.horizon)) this.followHorizon(kv.value);
      else if (key.subarray(0, this.layout.logPrefix.length).equals(this.layout.logPrefix)) {
        const rev = this.layout.revOfLog(key);
        // A put below the horizon the watch has shown is a strip: the record came as written before it.
        if (rev > this.log.committedRev && rev >= this.horizon.followed) this.seen.set(rev, Buffer.from(kv.value));
      }
    }
    if (res.header) this.watchFrom = res.header.revision + 1n;
    // This replica's own transaction in flight: its answer applies it, with the records made here.
    if (head !== undefined && head > this.log.committedRev && head > this.inFlightTo) this.applySeen(head);
  }

  private followHorizon(bytes: Buffer): void {
    try {
      this.horizon.follow(bytes);
    } catch (e) {
      this.status.failure ??= new CtmError("data_loss", `etcd store ${this.layout.prefix}: ${errorText(e)}`);
    }
  }
}
