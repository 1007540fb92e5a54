// Worker thread entry: checks the whole log of the store at `location` (held open by the
// store's own thread with `multithreading`) off the serving thread. Decoding, hashing and the
// index lookups of a million records took that thread over half its time for half a minute
// after a start, and every read waited on it.
import { parentPort, workerData } from "node:worker_threads";
import { ClassicLevel } from "classic-level";
import { verifyLog, type VerifyOptions } from "./log-verifier.js";
import type { VerifyWorkerMessage } from "./verify-threaded.js";

const port = parentPort;
if (port === null) throw new Error("verify-worker runs as a worker thread");
const { location, options } = workerData as { location: string; options: Omit<VerifyOptions, "signal" | "onProgress"> };

const stop = new AbortController();
port.on("message", (m: "stop") => {
  if (m === "stop") stop.abort();
});

async function run(): Promise<VerifyWorkerMessage> {
  const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open({ createIfMissing: false, multithreading: true } as Parameters<typeof db.open>[0]);
  try {
    return { report: await verifyLog(db, { ...options, prevHash: Buffer.from(options.prevHash), signal: stop.signal }) };
  } finally {
    await db.close();
  }
}

run()
  .then(
    (m) => port.postMessage(m),
    (e: unknown) => port.postMessage({ error: e instanceof Error ? e.message : String(e), stopped: stop.signal.aborted } satisfies VerifyWorkerMessage),
  )
  // The thread ends once its message is sent: its exit tells the store the shared handle is closed.
  .finally(() => port.unref());
