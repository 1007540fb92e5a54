import type { Worker } from "node:worker_threads";
import { workerScript } from "../../worker-script.js";
import { packEntry, type BatchWriterMessage, type BatchWriterReply } from "./batch-chunk.js";
import { StoreThread } from "./store-thread.js";

const script = workerScript("batch-writer-worker", import.meta.url);

/** Bytes of entries sent to the writer at a time. */
const CHUNK = 1 << 20;
/** How long the thread waits for the next batch before it is let go (see BatchWriter). */
const IDLE_MS = 2000;

/**
 * The worker thread a store writes its large batches from, started at the first one. LevelDB
 * keeps a batch in one buffer that doubles as it grows: a put that doubled a batch of 64 MiB
 * copied it whole and held the event loop for 60 to 120 ms. Here the store packs the entries
 * into chunks and sends each as it fills; the worker puts them into its batch and writes it
 * (synced) on write(), as one atomic LevelDB batch. One batch at a time: the store's flush is
 * sequential, and writes a large group as several batches, one after another (see
 * LevelLogStore's writeThreaded). `location` must be held open with `multithreading`.
 *
 * The thread collects its garbage after each write of a MiB or more (see batch-writer-worker.ts)
 * and ends once no batch has come for `idleMs`; the next batch starts another. Before either, an
 * idle thread kept the LevelDB batch it wrote last: after a RollbackPrefix of 100,000 keys, a
 * daemon that kept its thread stayed 51 to 63 MiB larger than one that let it go.
 */
export class BatchWriter {
  private thread: StoreThread<BatchWriterReply> | undefined;
  private waiting: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private idle: NodeJS.Timeout | undefined;
  /** Threads let go for idleness, until they have ended. */
  private readonly ending = new Set<Promise<void>>();

  constructor(
    private readonly location: string,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** A new batch; the one before must have been written or aborted. */
  begin(): ThreadedBatch {
    clearTimeout(this.idle);
    this.idle = undefined;
    const worker = this.start();
    return new ThreadedBatch(
      worker,
      (waiting) => {
        // The thread ended while the batch was being sent: nothing would ever answer its write.
        if (this.thread?.worker !== worker) waiting.reject(new Error("the batch writer exited before the batch was written"));
        else this.waiting = waiting;
      },
      () => this.release(),
    );
  }

  /** Stops the worker, which closes its handle of the store first. */
  async close(): Promise<void> {
    clearTimeout(this.idle);
    this.idle = undefined;
    await Promise.all([this.thread?.close(), ...this.ending]);
  }

  /** Whether a thread is up (one let go for idleness is not). */
  get running(): boolean {
    return this.thread !== undefined;
  }

  /** After a batch's answer: the thread is let go unless another batch begins within idleMs. */
  private release(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.idle = undefined;
      const thread = this.thread;
      if (thread === undefined || this.waiting !== undefined) return;
      this.thread = undefined;
      const ended = thread.close().finally(() => this.ending.delete(ended));
      this.ending.add(ended);
    }, this.idleMs).unref();
  }

  private start(): Worker {
    if (this.thread) return this.thread.worker;
    const thread: StoreThread<BatchWriterReply> = new StoreThread(script, this.location, {
      message: (m) => {
        thread.worker.unref();
        const w = this.waiting;
        this.waiting = undefined;
        this.release();
        if ("written" in m) w?.resolve();
        else w?.reject(Object.assign(new Error(`writing the batch: ${m.error}`), { code: m.code }));
      },
      exit: (code, failure) => {
        // A thread let go for idleness had no batch; the batch waiting now is another thread's.
        if (this.thread !== thread) return;
        this.thread = undefined;
        // A batch in flight when the thread ended was not written: the store fails it.
        this.waiting?.reject(failure ?? new Error(`the batch writer exited (code ${code}) before the batch was written`));
        this.waiting = undefined;
      },
    });
    this.thread = thread;
    return thread.worker;
  }
}

/** One batch being sent to the BatchWriter's worker. */
export class ThreadedBatch {
  private chunk = Buffer.allocUnsafeSlow(CHUNK);
  private at = 0;

  constructor(
    private readonly worker: Worker,
    private readonly expect: (waiting: { resolve: () => void; reject: (e: unknown) => void }) => void,
    private readonly aborted: () => void,
  ) {}

  put(key: Uint8Array, value: Uint8Array): void {
    this.add(key, value);
  }

  del(key: Uint8Array): void {
    this.add(key, undefined);
  }

  /** Writes the batch (synced); resolves once it is durable. */
  write(): Promise<void> {
    this.send();
    return new Promise<void>((resolve, reject) => {
      this.expect({ resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ write: true } satisfies BatchWriterMessage);
    });
  }

  /** Drops what was sent of the batch, unwritten. */
  abort(): void {
    this.worker.postMessage({ abort: true } satisfies BatchWriterMessage);
    this.aborted();
  }

  private add(key: Uint8Array, value: Uint8Array | undefined): void {
    const need = 9 + key.length + (value?.length ?? 0);
    if (this.at + need > this.chunk.length) {
      this.send();
      if (need > this.chunk.length) this.chunk = Buffer.allocUnsafeSlow(need);
    }
    this.at = packEntry(this.chunk, this.at, key, value);
  }

  private send(): void {
    if (this.at === 0) return;
    const chunk = this.chunk.subarray(0, this.at);
    this.worker.postMessage({ chunk } satisfies BatchWriterMessage, [chunk.buffer as ArrayBuffer]);
    this.chunk = Buffer.allocUnsafeSlow(CHUNK);
    this.at = 0;
  }
}
