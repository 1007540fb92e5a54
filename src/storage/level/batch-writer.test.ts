import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import type { Worker } from "node:worker_threads";
import { ClassicLevel } from "classic-level";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BatchWriter } from "./batch-writer.js";

let dir: string;
let db: ClassicLevel<Buffer, Buffer>;
let writer: BatchWriter;
const b = (s: string): Buffer => Buffer.from(s, "utf8");

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ctm-batch-writer-"));
  db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  // As the store holds it: the writer's thread shares this handle.
  await db.open({ createIfMissing: true, multithreading: true } as Parameters<typeof db.open>[0]);
  writer = new BatchWriter(dir);
});
afterEach(async () => {
  await writer.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const get = async (key: string): Promise<string | undefined> => (await db.get(b(key)))?.toString("utf8");

describe("BatchWriter", () => {
  it("writes a batch of many chunks whole, with its deletes, and one batch after another on the same thread", async () => {
    await db.put(b("gone"), b("x"));
    const first = writer.begin();
    // About 3 MiB: several chunks.
    for (let i = 0; i < 3000; i++) first.put(b(`k${i}`), Buffer.alloc(1000, i % 251));
    // An entry larger than a chunk gets one of its own.
    first.put(b("big"), Buffer.alloc(3 << 20, 7));
    first.del(b("gone"));
    await first.write();
    expect((await db.get(b("k2999")))!.equals(Buffer.alloc(1000, 2999 % 251))).toBe(true);
    expect((await db.get(b("big")))!.length).toBe(3 << 20);
    expect(await get("gone")).toBeUndefined();

    const second = writer.begin();
    second.put(b("k0"), b("again"));
    await second.write();
    expect(await get("k0")).toBe("again");
  });

  it("drops an aborted batch, and the next one is written alone", async () => {
    const dropped = writer.begin();
    dropped.put(b("a"), b("1"));
    // Past one chunk: part of the batch has reached the thread before the abort.
    for (let i = 0; i < 1200; i++) dropped.put(b(`d${i}`), Buffer.alloc(1000));
    dropped.abort();
    const next = writer.begin();
    next.put(b("b"), b("2"));
    await next.write();
    expect([await get("a"), await get("d0"), await get("b")]).toEqual([undefined, undefined, "2"]);
  });

  it("a batch whose thread ended before its write is refused, never left waiting, and the next batch gets a new thread", async () => {
    const lost = writer.begin();
    lost.put(b("lost"), b("1"));
    await (writer as unknown as { thread: { worker: Worker } }).thread.worker.terminate();
    await expect(lost.write()).rejects.toThrow(/exited before the batch was written/);
    const next = writer.begin();
    next.put(b("kept"), b("2"));
    await next.write();
    expect([await get("lost"), await get("kept")]).toEqual([undefined, "2"]);
  });

  it("lets its thread go once no batch has come for a while, keeps it for a batch that comes sooner, and starts another for the next", async () => {
    const idle = new BatchWriter(dir, 300);
    const threadOf = (w: BatchWriter): Worker | undefined => (w as unknown as { thread?: { worker: Worker } }).thread?.worker;
    try {
      const first = idle.begin();
      first.put(b("a"), b("1"));
      await first.write();
      const worker = threadOf(idle)!;
      const ended = once(worker, "exit");
      const soon = idle.begin();
      soon.put(b("b"), b("2"));
      await soon.write();
      expect(threadOf(idle)).toBe(worker);

      await ended;
      expect(idle.running).toBe(false);
      const later = idle.begin();
      later.put(b("c"), b("3"));
      await later.write();
      expect(threadOf(idle)).not.toBe(worker);
      expect([await get("a"), await get("b"), await get("c")]).toEqual(["1", "2", "3"]);
    } finally {
      await idle.close();
    }
  });

  it("a thread let go while the next batch starts on a new one does not fail that batch when it ends", async () => {
    const idle = new BatchWriter(dir, 0);
    try {
      for (let i = 0; i < 5; i++) {
        const batch = idle.begin();
        batch.put(b(`r${i}`), b(String(i)));
        await batch.write();
        // Let the idle timer fire: the thread is ending while the next batch begins.
        await new Promise((r) => setTimeout(r, 1));
      }
      await vi.waitFor(() => expect(idle.running).toBe(false), { timeout: 5000 });
      expect(await Promise.all([0, 1, 2, 3, 4].map((i) => get(`r${i}`)))).toEqual(["0", "1", "2", "3", "4"]);
    } finally {
      await idle.close();
    }
  });
});
