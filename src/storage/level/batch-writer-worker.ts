// Worker thread entry: builds the store's large LevelDB write batches from the chunks it sends,
// and writes each synced on "write" (see BatchWriter): a batch's growth and its copies happen
// here, off the thread that serves calls. It lives until the store closes or lets it go for
// idleness (see BatchWriter).
import { parentPort, workerData } from "node:worker_threads";
import { ClassicLevel } from "classic-level";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { unpackEntries, type BatchWriterMessage, type BatchWriterReply } from "./batch-chunk.js";

const port = parentPort;
if (port === null) throw new Error("batch-writer-worker runs as a worker thread");
const { location } = workerData as { location: string };

const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
// The store holds the database open with the same option: this shares its handle.
const opened = db.open({ createIfMissing: false, multithreading: true } as Parameters<typeof db.open>[0]);
let steps: Promise<unknown> = Promise.resolve();
// classic-level frees a chained batch's native memory only once its JS object is collected (see
// its ChainedBatch._close), and V8 does not count that memory: a thread writing a batch in parts
// of a few MiB kept every part's until it happened to collect, some 50 MiB for 100,000 records.
// So it collects after each write of a MiB or more, a few milliseconds of its own. Only a context
// made here, with the flag set for that moment, gets V8's gc function.
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
setFlagsFromString("--no-expose-gc");
let batch: ReturnType<typeof db.batch> | undefined;
/** Bytes of the current batch's chunks, and of the batch written last. */
let size = 0;
let written = 0;
const COLLECT_FROM = 1 << 20;
/** Set once a chunk of the current batch could not be taken: its write answers this. */
let broken: unknown;

async function step(m: BatchWriterMessage): Promise<void> {
  if ("close" in m) {
    await batch?.close();
    await db.close();
    port!.close();
    return;
  }
  if ("abort" in m) {
    await batch?.close();
    batch = undefined;
    size = 0;
    broken = undefined;
    return;
  }
  batch ??= db.batch();
  if ("chunk" in m) {
    size += m.chunk.byteLength;
    if (broken === undefined) {
      try {
        unpackEntries(m.chunk, (k, v) => batch!.put(k, v), (k) => batch!.del(k));
      } catch (e) {
        broken = e;
      }
    }
    return;
  }
  const b = batch;
  batch = undefined;
  written = size;
  size = 0;
  try {
    if (broken !== undefined) throw broken;
    await b.write({ sync: true });
    port!.postMessage({ written: true } satisfies BatchWriterReply);
  } catch (e) {
    port!.postMessage(failed(e));
    await b.close().catch(() => undefined);
  } finally {
    broken = undefined;
  }
}

const failed = (e: unknown): BatchWriterReply => ({ error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });

// In order: each message waits for the ones before it (and for the open). A write is always
// answered, whatever failed before it.
port.on("message", (m: BatchWriterMessage) => {
  steps = steps
    .then(async () => {
      try {
        await opened;
      } catch (e) {
        if ("write" in m) port.postMessage(failed(e));
        if ("close" in m) port.close();
        return;
      }
      await step(m);
      // Once the step is over, nothing holds the batch it wrote.
      if ("write" in m && written >= COLLECT_FROM) collect();
    })
    .catch((e: unknown) => {
      if ("write" in m) port.postMessage(failed(e));
    });
});
