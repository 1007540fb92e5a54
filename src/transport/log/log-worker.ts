// Worker thread entry: the one writer of ctmd's log fd. It formats the RPC rows the main thread
// ships and writes them, with the main thread's own lines, in the order they were logged.
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { LogBatchFormatter } from "./log-batch-formatter.js";
import type { LogBatch, LogWorkerData } from "./log-shipper.js";

const port = parentPort;
if (port === null) throw new Error("log-worker runs as a worker thread");
const data = workerData as LogWorkerData;
const done = new Int32Array(data.done);
const pause = new Int32Array(new SharedArrayBuffer(4));
const formatter = new LogBatchFormatter(data.rpcBindings);

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

port.on("message", (b: LogBatch) => {
  if (b.rows.method.length > 0 || b.lines.length > 0) writeAll(formatter.format(b));
  if (b.ack !== undefined) port.postMessage(b.ack);
  if (b.sync) {
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  }
});
