import { Worker } from "node:worker_threads";
import { workerScript } from "../../worker-script.js";
import { packEntry, type BatchWriterMessage, type BatchWriterReply } from "./batch-chunk.js";

const script = workerScript("batch-writer-worker", import.meta.url);

/** Bytes of entries sent to the writer at a time. */
const CHUNK = 1 << 20;

/**
 * A LevelDB write batch built and written on a worker thread. LevelDB keeps a batch in one
 * buffer that doubles as it grows: a put that doubles a batch of 64 MiB copies it whole and
 * held the event loop for 60 to 120 ms. Here this thread packs the entries into chunks and
 * sends each as it fills; the worker puts them into its batch and writes it (synced) on
 * write(), one atomic batch as before. `location` must be held open with `multithreading`.
 */
export class ThreadedBatch {
  private readonly worker: Worker;
  private readonly written: Promise<void>;
  private chunk = Buffer.allocUnsafeSlow(CHUNK);
  private at = 0;

  constructor(location: string) {
    this.worker = new Worker(script.url, { workerData: { location }, execArgv: script.execArgv });
    this.written = new Promise<void>((resolve, reject) => {
      let failure: unknown;
      let done = false;
      this.worker.on("message", (m: BatchWriterReply) => {
        if ("written" in m) done = true;
        else failure ??= Object.assign(new Error(`writing the batch: ${m.error}`), { code: m.code });
      });
      this.worker.on("error", (e) => (failure ??= e));
      // The worker ends once its shared handle is closed: only then is the batch settled.
      this.worker.on("exit", (code) => {
        if (failure !== undefined) reject(failure);
        else if (!done) reject(new Error(`the batch writer exited (code ${code}) before the batch was written`));
        else resolve();
      });
    });
    // Settled by write() or abort(); a batch abandoned before write() must not fail unheard.
    this.written.catch(() => undefined);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.add(key, value);
  }

  del(key: Uint8Array): void {
    this.add(key, undefined);
  }

  /** Writes the batch (synced); resolves once it is durable. */
  write(): Promise<void> {
    this.send();
    this.worker.postMessage({ write: true } satisfies BatchWriterMessage);
    return this.written;
  }

  /** Drops the batch unwritten. */
  abort(): void {
    void this.worker.terminate();
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
