// Worker thread entry: owns the access log's LevelDB, so that encoding, indexing and writing
// access records costs the thread that serves Get nothing but a message per batch.
import { parentPort, workerData } from "node:worker_threads";
import type { AccessQuery } from "../access-log-store.js";
import { LevelAccessLogStore } from "./level-access-log-store.js";
import type { AccessBatch } from "../access-batch.js";
import type { AccessLogCall, AccessLogReply } from "./threaded-access-log-store.js";

const port = parentPort;
if (port === null) throw new Error("access-log-worker runs as a worker thread");
const store = new LevelAccessLogStore((workerData as { location: string }).location);

const asBuffer = (b: Uint8Array | undefined): Buffer | undefined => (b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

async function run(call: AccessLogCall): Promise<unknown> {
  switch (call.op) {
    case "open":
      return store.open();
    case "close":
      return store.close();
    case "append":
      return store.append(call.args as AccessBatch);
    case "query": {
      const q = call.args as AccessQuery;
      return store.query({ ...q, before: asBuffer(q.before) });
    }
    case "pruneOlderThan": {
      const [before, max] = call.args as [number, number];
      return store.pruneOlderThan(before, max);
    }
    case "pruneOldest":
      return store.pruneOldest(call.args as number);
    case "approximateBytes":
      return store.approximateBytes();
  }
}

port.on("message", (call: AccessLogCall) => {
  run(call).then(
    (value) => {
      port.postMessage({ id: call.id, ok: true, value } satisfies AccessLogReply);
      if (call.op === "close") port.close();
    },
    (e: unknown) => port.postMessage({ id: call.id, ok: false, message: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code } satisfies AccessLogReply),
  );
});
