import * as grpc from "@grpc/grpc-js";
import { CtmError, codeOf } from "./errors.js";
import { WatchStatus, type WatchResponse } from "./gen/ctm/v1/config_service.js";
import type { Entry } from "./gen/ctm/v1/record.js";
import { backoffDelay, sleep, type BackoffPolicy } from "./retry.js";

export interface WatchOptions {
  /** Watch every key under `key` ("" with prefix: everything). */
  prefix?: boolean;
  /** The first revision to yield; 0 (the default) means changes from now on. */
  startRevision?: number;
  /** Stops the watch: the iterator ends (done) instead of throwing. */
  signal?: AbortSignal;
  /** Reconnection delays (defaults: the client's `watchBackoff`). */
  backoff?: Partial<BackoffPolicy>;
  /**
   * A stream that delivers nothing at all (not even a PROGRESS heartbeat, which the daemon
   * sends every --watch-progress-ms, 10 s by default) for this long while the iterator waits
   * is treated as dead and reopened. 0 disables. Default: the client's `watchIdleTimeoutMs`.
   */
  idleTimeoutMs?: number;
  /** Told when a stream is established (CREATED) and when it breaks. */
  onState?: (state: { connected: boolean; error?: CtmError }) => void;
}

/** Codes after which the stream is reopened; any other code ends the iterator with a CtmError. */
export const RESUMABLE: ReadonlySet<grpc.status> = new Set<grpc.status>([
  grpc.status.UNAVAILABLE,
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
]);

type Open = (startRevision: number) => grpc.ClientReadableStream<WatchResponse>;

/**
 * An async iterator of a key's (or prefix's) entries, in revision order, that survives
 * daemon restarts: when a stream breaks it reopens one from the last revision it yielded + 1
 * (or, after a PROGRESS heartbeat, from that heartbeat's revision + 1), with exponential
 * backoff and jitter, forever, until the consumer stops (break, return(), close() or the
 * signal). Nothing is lost and nothing is yielded twice: revisions strictly increase.
 *
 * Errors that resuming cannot fix (INVALID_ARGUMENT for a bad key, OUT_OF_RANGE,
 * FAILED_PRECONDITION, PERMISSION_DENIED...) end the iteration by throwing a CtmError, and
 * so does DATA_LOSS: a daemon whose head revision is behind what the watch already saw (its
 * store was replaced), where resuming would skip revisions. A cache re-seeds on it.
 */
export class WatchIterator implements AsyncIterableIterator<Entry> {
  /** Streams reopened after a break. */
  reconnects = 0;
  /** Whether a stream is established right now. */
  connected = false;
  private resume: number;
  private closed = false;
  /** The highest revision the daemon has shown to exist (heads, events): it never goes backwards. */
  private highest = 0;
  private readonly stop = new AbortController();
  private current: grpc.ClientReadableStream<WatchResponse> | undefined;
  private readonly gen: AsyncGenerator<Entry, undefined>;

  constructor(
    private readonly open: Open,
    private readonly policy: BackoffPolicy,
    private readonly idleTimeoutMs: number,
    startRevision: number,
    private readonly opts: WatchOptions,
  ) {
    this.resume = startRevision;
    this.gen = this.run();
    if (opts.signal?.aborted) this.close();
    else opts.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /**
   * The revision a resumed stream would start from: the last yielded revision + 1 (or later,
   * after a heartbeat). 0 until a watch opened "from now" is established.
   */
  get nextRevision(): number {
    return this.resume;
  }

  next(): Promise<IteratorResult<Entry, undefined>> {
    return this.gen.next();
  }

  return(): Promise<IteratorResult<Entry, undefined>> {
    this.close();
    return this.gen.return(undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the iteration: a pending next() resolves done. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.current?.cancel();
  }

  private setConnected(connected: boolean, error?: CtmError): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.opts.onState?.(error ? { connected, error } : { connected });
  }

  private async *run(): AsyncGenerator<Entry, undefined> {
    let attempt = 0;
    try {
      while (!this.closed) {
        const call = this.open(this.resume);
        this.current = call;
        const messages = call[Symbol.asyncIterator]() as AsyncIterator<WatchResponse>;
        let failure: unknown;
        let idled = false;
        try {
          for (;;) {
            let timer: NodeJS.Timeout | undefined;
            if (this.idleTimeoutMs > 0) {
              timer = setTimeout(() => {
                idled = true;
                call.cancel();
              }, this.idleTimeoutMs);
            }
            let m: IteratorResult<WatchResponse>;
            try {
              m = await messages.next();
            } finally {
              clearTimeout(timer);
            }
            if (m.done) break;
            const res = m.value;
            if (res.status === WatchStatus.WATCH_STATUS_CREATED) {
              const head = res.header?.revision ?? 0;
              if (head < this.highest) {
                // The head went backwards: the daemon's store was replaced or restored from an
                // older copy. Resuming would silently skip its revisions.
                throw new CtmError({ code: grpc.status.DATA_LOSS, details: `the daemon's head revision ${head} is behind revision ${this.highest}, already seen`, method: "Watch" });
              }
              this.highest = head;
              attempt = 0;
              // From now on: the daemon registered the watch at this head, starting at head + 1.
              if (this.resume === 0) this.resume = (res.header?.revision ?? 0) + 1;
              this.setConnected(true);
              continue;
            }
            if (res.status === WatchStatus.WATCH_STATUS_PROGRESS) {
              // Idle up to header.revision: every earlier matching event has been sent, and yielded.
              const h = res.header?.revision ?? 0;
              this.highest = Math.max(this.highest, h);
              if (this.resume > 0 && h + 1 > this.resume) this.resume = h + 1;
              continue;
            }
            for (const e of res.events) {
              if (e.revision < this.resume) continue; // never yield a revision twice
              this.resume = e.revision + 1;
              this.highest = Math.max(this.highest, e.revision);
              yield e;
              if (this.closed) return undefined;
            }
          }
        } catch (e) {
          failure = e;
        } finally {
          call.cancel();
          this.current = undefined;
        }
        if (this.closed) return undefined;
        const code = failure === undefined ? grpc.status.UNAVAILABLE : codeOf(failure);
        const error =
          failure === undefined
            ? new CtmError({ code, details: "the stream ended; resuming", method: "Watch" })
            : idled
              ? new CtmError({ code: grpc.status.UNAVAILABLE, details: `no message for ${this.idleTimeoutMs} ms; resuming`, method: "Watch" })
              : CtmError.from(failure, "Watch");
        this.setConnected(false, error);
        if (!idled && !RESUMABLE.has(code)) throw error;
        await sleep(backoffDelay(this.policy, attempt++), this.stop.signal);
        if (this.closed) return undefined;
        this.reconnects++;
      }
      return undefined;
    } finally {
      this.closed = true;
      this.setConnected(false);
    }
  }
}
