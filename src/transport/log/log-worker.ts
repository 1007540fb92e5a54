// Worker thread entry: the one writer of ctmd's log fd. It formats the RPC rows the main thread
// ships and writes them, with the main thread's own lines, in the order they were logged.
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { LogBatchFormatter } from "./log-batch-formatter.js";
import type { LogBatch, LogWorkerData } from "./log-shipper.js";

const port = parentPort;
if (port === null) throw new Error("log-worker runs as a worker thread");
const data = workerData as LogWorkerData;
const written = new Int32Array(data.written);
const pause = new Int32Array(new SharedArrayBuffer(4));
const formatter = new LogBatchFormatter(data.rpcBindings, data.httpBindings);

/** Writes all of `text`, waiting out a full pipe; a closed fd drops it (there is nowhere to report to). */
function writeAll(text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(data.fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

// Each batch is confirmed twice: in shared memory, for a main thread blocked at exit, and by a
// message, for one that is running.
port.on("message", (b: LogBatch) => {
  writeAll(formatter.format(b));
  Atomics.store(written, 0, b.seq!);
  Atomics.notify(written, 0);
  port.postMessage(b.seq);
});
