// Worker thread entry: reads the log records of Snapshot pages in the past (see PastReader), so
// that the serving thread spends nothing on LevelDB's reads and the buffers they make, and a
// page is read while the one before is being sent. It lives until the store closes.
import { parentPort, workerData } from "node:worker_threads";
import { ClassicLevel } from "classic-level";
import { u64 } from "./codec.js";
import { prefixed } from "./layout.js";
import type { PastReadReply, PastReadRequest } from "./past-read-messages.js";

const port = parentPort;
if (port === null) throw new Error("past-reader-worker runs as a worker thread");
const { location } = workerData as { location: string };

/** Records per LevelDB read, and reads in flight (each on a thread of libuv's pool). */
const BATCH = 256;
const IN_FLIGHT = 4;

const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
// The store holds the database open with the same option: this shares its handle.
const opened = db.open({ createIfMissing: false, multithreading: true } as Parameters<typeof db.open>[0]);
let steps: Promise<unknown> = opened;

port.on("message", (m: PastReadRequest) => {
  steps = steps.then(() => step(m)).catch((e: unknown) => {
    if ("id" in m) reply({ id: m.id, error: e instanceof Error ? e.message : String(e), ...codeOf(e) });
  });
});

async function step(m: PastReadRequest): Promise<void> {
  if ("close" in m) {
    await db.close();
    port!.close();
    return;
  }
  const { id, items, maxBytes, first } = m;
  const reads: number[] = [];
  for (let i = 0; i < items.length; i++) if (items[i]! > 0) reads.push(items[i]!);
  const queue: Promise<(Buffer | undefined)[]>[] = [];
  let issued = 0;
  const issue = (): void => {
    while (queue.length < IN_FLIGHT && issued < reads.length) {
      const keys = reads.slice(issued, (issued += BATCH)).map((rev) => prefixed("log", u64(rev)));
      const read = db.getMany(keys);
      // A read past the page's end is never awaited: it must not fail unheard.
      read.catch(() => undefined);
      queue.push(read);
    }
  };
  issue();
  const parts: Buffer[] = [];
  const ends = new Uint32Array(items.length);
  let values: (Buffer | undefined)[] = [];
  let v = 0;
  let size = 0;
  let budget = 0;
  let count = 0;
  for (; count < items.length; count++) {
    const item = items[count]!;
    let record: Buffer | undefined;
    if (item > 0) {
      if (v === values.length) {
        values = await queue.shift()!;
        v = 0;
        issue();
      }
      record = values[v++];
      if (record === undefined) return reply({ id, missing: item });
    }
    const bytes = record === undefined ? -item : record.length;
    // As the store's pages end: before the record that passes the budget, with at least one.
    if (budget + bytes > maxBytes && (count > 0 || !first)) break;
    budget += bytes;
    if (record !== undefined) {
      parts.push(record);
      size += record.length;
    }
    ends[count] = size;
  }
  // Its own memory, not a slice of Node's shared pool: it is moved to the store's thread.
  const out = new Uint8Array(new ArrayBuffer(size));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  const used = ends.slice(0, count);
  reply({ id, bytes: out, ends: used, count, used: budget }, [out.buffer, used.buffer]);
}

function reply(m: PastReadReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(m, transfer);
}

const codeOf = (e: unknown): { code?: string } => {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" ? { code } : {};
};
