import { Worker } from "node:worker_threads";
import { workerScript } from "../../worker-script.js";
import type { HeadReaderMessage } from "./head-chunk.js";

const script = workerScript("head-reader-worker", import.meta.url);

/** Records per chunk, and chunks in flight: a few MiB of raw records at most. */
const BATCH = 10_000;
const AHEAD = 3;

/**
 * Streams every key's head record out of the store at `location` (which the caller holds open
 * with `multithreading`) from a worker thread, handing each chunk to `onChunk` on this thread.
 * When `onChunk` throws, the worker is stopped, its handle closed, and the error rethrown.
 */
export function readHeadsThreaded(location: string, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const worker = new Worker(script.url, { workerData: { location, batch: BATCH, ahead: AHEAD }, execArgv: script.execArgv });
  return new Promise<void>((resolve, reject) => {
    let failure: unknown;
    let finished = false;
    worker.on("message", (m: HeadReaderMessage) => {
      if (failure !== undefined) return;
      if ("chunk" in m) {
        try {
          onChunk(m.chunk);
          worker.postMessage("more");
        } catch (e) {
          failure = e;
          worker.postMessage("stop");
        }
      } else if ("done" in m) {
        finished = true;
      } else {
        failure = Object.assign(new Error(`reading the heads: ${m.error}`), { code: m.code });
      }
    });
    worker.on("error", (e) => (failure ??= e));
    // The worker posts "done" or its error and then ends: its exit is when the handle it shared is closed.
    worker.on("exit", (code) => {
      if (failure !== undefined) reject(failure);
      else if (!finished) reject(new Error(`the head reader exited (code ${code}) before reading every head`));
      else resolve();
    });
  });
}
