import { Worker } from "node:worker_threads";
import { workerScript } from "../../worker-script.js";
import type { AccessBatch } from "../access-batch.js";
import type { AccessLogStore, AccessQuery, AccessRecord } from "../access-log-store.js";

export interface AccessLogCall {
  id: number;
  op: "open" | "close" | "append" | "query" | "pruneOlderThan" | "pruneOldest" | "approximateBytes";
  args?: unknown;
}

export type AccessLogReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; code?: string };

/** An error the worker's store raised (a full disk, say), with its code. */
export class AccessLogStoreError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const script = workerScript("access-log-worker", import.meta.url);

/**
 * The LevelDB access log, run in its own worker thread. Get only queues records; each
 * flush posts one batch here, and the worker encodes, indexes and writes it while the
 * main thread goes on serving. Calls are answered in order.
 */
export class ThreadedAccessLogStore implements AccessLogStore {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  private stopped: Error | undefined;

  constructor(location: string) {
    this.worker = new Worker(script.url, { workerData: { location }, execArgv: script.execArgv });
    // The worker keeps the process alive only while a call waits on it: idle, the daemon's
    // own handles decide; awaiting close() at shutdown, nothing else may be left to.
    this.worker.unref();
    this.worker.on("message", (reply: AccessLogReply) => {
      const call = this.pending.get(reply.id);
      if (call === undefined) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) call.resolve(reply.value);
      else call.reject(new AccessLogStoreError(reply.message, reply.code));
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => this.fail(new Error(`the access log worker exited (code ${code})`)));
  }

  open(): Promise<void> {
    return this.call("open") as Promise<void>;
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    await this.call("close");
    this.worker.ref(); // until it has exited
    await new Promise((resolve) => (this.stopped ? resolve(undefined) : this.worker.once("exit", resolve)));
  }

  /** Transfers the batch's buffer to the worker: no copy, and the caller's batch is emptied. */
  append(batch: AccessBatch): Promise<void> {
    return this.call("append", batch, [batch.bytes.buffer as ArrayBuffer]) as Promise<void>;
  }

  async query(q: AccessQuery): Promise<{ records: AccessRecord[]; next?: Buffer }> {
    const r = (await this.call("query", q)) as { records: AccessRecord[]; next?: Uint8Array };
    return { records: r.records, next: r.next && Buffer.from(r.next.buffer, r.next.byteOffset, r.next.byteLength) };
  }

  pruneOlderThan(before: number, max: number): Promise<number> {
    return this.call("pruneOlderThan", [before, max]) as Promise<number>;
  }

  pruneOldest(count: number): Promise<number> {
    return this.call("pruneOldest", count) as Promise<number>;
  }

  approximateBytes(): Promise<number> {
    return this.call("approximateBytes") as Promise<number>;
  }

  private call(op: AccessLogCall["op"], args?: unknown, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args } satisfies AccessLogCall, transfer);
    });
  }

  /** The worker is gone: every waiting call fails, and so does every later one. */
  private fail(e: Error): void {
    this.stopped ??= e;
    for (const call of this.pending.values()) call.reject(e);
    this.pending.clear();
    this.worker.unref();
  }
}
