import type { Worker } from "node:worker_threads";
import { workerScript } from "../../worker-script.js";
import type { PastReadReply, PastReadRequest } from "./past-read-messages.js";
import { StoreThread } from "./store-thread.js";

const script = workerScript("past-reader-worker", import.meta.url);

/** What a read answers: the records that fit, or the revision the log lacks. */
export type PastRead = { bytes: Buffer; ends: Uint32Array; count: number; used: number } | { missing: number };

/** The reader's thread is gone (it failed or the store is closing): the caller reads on its own thread. */
export class PastReaderGone extends Error {}

/**
 * The worker thread a store reads the records of past Snapshot pages on, started at the first
 * page and kept until close(). On the serving thread those reads cost more than the rest of a
 * page (LevelDB makes a buffer per record there), and a page could not be read while the one
 * before was turned into protobuf and sent. `location` must be held open with `multithreading`.
 */
export class PastReader {
  private thread: StoreThread<PastReadReply> | undefined;
  private gone = false;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: PastRead) => void; reject: (e: unknown) => void }>();

  constructor(private readonly location: string) {}

  /** The first of `items` (see PastReadRequest) that fit in `maxBytes`, as the store's pages count them. */
  read(items: Float64Array, maxBytes: number, first: boolean): Promise<PastRead> {
    if (this.gone) return Promise.reject(new PastReaderGone("the past reader has stopped"));
    const worker = this.start();
    const id = this.next++;
    return new Promise<PastRead>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Held only while it reads: an idle reader keeps no process alive.
      worker.ref();
      worker.postMessage({ id, items, maxBytes, first } satisfies PastReadRequest, [items.buffer as ArrayBuffer]);
    });
  }

  /** Stops the worker, which closes its handle of the store first. */
  async close(): Promise<void> {
    this.gone = true;
    await this.thread?.close();
  }

  private start(): Worker {
    if (this.thread) return this.thread.worker;
    const thread: StoreThread<PastReadReply> = new StoreThread(script, this.location, {
      message: (m) => {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) thread.worker.unref();
        if (w === undefined) return;
        if ("error" in m) w.reject(Object.assign(new Error(`reading the log: ${m.error}`), m.code ? { code: m.code } : {}));
        else if ("missing" in m) w.resolve(m);
        else w.resolve({ bytes: Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), ends: m.ends, count: m.count, used: m.used });
      },
      exit: (code, failure) => {
        this.gone = true;
        const why = new PastReaderGone(`the past reader exited (code ${code})${failure instanceof Error ? `: ${failure.message}` : ""}`);
        for (const w of this.waiting.values()) w.reject(why);
        this.waiting.clear();
      },
    });
    this.thread = thread;
    return thread.worker;
  }
}
