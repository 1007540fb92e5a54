// Worker thread entry: builds one LevelDB write batch from the chunks the store sends, and
// writes it synced on "write" (see ThreadedBatch): the batch's growth and its copies happen
// here, off the thread that serves calls.
import { parentPort, workerData } from "node:worker_threads";
import { ClassicLevel } from "classic-level";
import { unpackEntries, type BatchWriterMessage, type BatchWriterReply } from "./batch-chunk.js";

const port = parentPort;
if (port === null) throw new Error("batch-writer-worker runs as a worker thread");
const { location } = workerData as { location: string };

const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
// The store holds the database open with the same option: this shares its handle.
let steps: Promise<unknown> = db.open({ createIfMissing: false, multithreading: true } as Parameters<typeof db.open>[0]);
const batch = steps.then(() => db.batch());
let failed = false;

function fail(e: unknown): void {
  if (failed) return;
  failed = true;
  port!.postMessage({ error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code } satisfies BatchWriterReply);
  void db.close().finally(() => port!.close());
}

// In order: each message waits for the ones before it (and for the open).
port.on("message", (m: BatchWriterMessage) => {
  steps = steps.then(async () => {
    if (failed) return;
    const b = await batch;
    if ("chunk" in m) {
      unpackEntries(m.chunk, (k, v) => b.put(k, v), (k) => b.del(k));
    } else if ("write" in m) {
      await b.write({ sync: true });
      port.postMessage({ written: true } satisfies BatchWriterReply);
      // The thread ends once the shared handle is closed: its exit tells the store.
      await db.close();
      port.close();
    }
  }).catch(fail);
});
