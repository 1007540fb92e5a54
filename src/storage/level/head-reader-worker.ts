// Worker thread entry: reads every key's head record for the store's open, so that the
// native reads and the copies out of LevelDB run on another core while the opening thread
// decodes what has already arrived.
import { parentPort, workerData } from "node:worker_threads";
import { ClassicLevel } from "classic-level";
import { PREFIX, sectionRange } from "./layout.js";
import { packRecords, type HeadReaderMessage } from "./head-chunk.js";

const port = parentPort;
if (port === null) throw new Error("head-reader-worker runs as a worker thread");
const { location, batch, ahead } = workerData as { location: string; batch: number; ahead: number };

let credit = ahead;
let wake: (() => void) | undefined;
let stopped = false;
port.on("message", (m: "more" | "stop") => {
  if (m === "more") credit++;
  else stopped = true;
  wake?.();
});

async function run(): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
  // The opening thread holds the database open with the same option: this shares its handle.
  await db.open({ createIfMissing: false, multithreading: true } as Parameters<typeof db.open>[0]);
  const heads = db.values(sectionRange("head"));
  try {
    while (!stopped) {
      // At most `ahead` chunks wait in the opener's queue: memory stays a few chunks whatever its pace.
      while (credit === 0 && !stopped) await new Promise<void>((r) => (wake = r));
      if (stopped) break;
      const revs = await heads.nextv(batch);
      if (revs.length === 0) break;
      const records = await db.getMany(revs.map((r) => Buffer.concat([PREFIX.log, r])));
      const chunk = packRecords(revs, records);
      credit--;
      port!.postMessage({ chunk } satisfies HeadReaderMessage, [chunk.buffer as ArrayBuffer]);
    }
  } finally {
    await heads.close();
    await db.close();
  }
}

run()
  .then(
    () => port.postMessage({ done: true } satisfies HeadReaderMessage),
    (e: unknown) => port.postMessage({ error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code } satisfies HeadReaderMessage),
  )
  // Nothing is left to wait for: the thread ends, and its exit tells the opener the handle is closed.
  .finally(() => port.unref());
