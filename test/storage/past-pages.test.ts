import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { LogRecord } from "@ctm/core/record";
import { ManualClock } from "../../src/domain/clock.js";
import { T0 } from "../../src/storage/log-store.conformance.js";
import { LEVEL_STORE_DEFAULTS, LevelLogStore } from "../../src/storage/level/level-log-store.js";
import { PastReader, PastReaderGone } from "../../src/storage/level/past-reader.js";
import { decodeRecord } from "../../src/storage/level/record-bytes.js";
import { isStoredBytes, type StoredBytes } from "../../src/storage/log-store.js";

const set = (key: string, value: unknown) => ({ key, value: value as LogRecord["value"], deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" });
const decoded = (records: (LogRecord | StoredBytes)[]): LogRecord[] => records.map((r) => (isStoredBytes(r) ? decodeRecord(r.stored) : r));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});
/** A store in a directory of its own, both gone after the test. */
async function openStore(): Promise<LevelLogStore> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-past-"));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  const store = new LevelLogStore(dir, new ManualClock(T0), LEVEL_STORE_DEFAULTS);
  await store.open();
  cleanups.push(() => store.close());
  return store;
}

/** Every page of `prefix` at `rev`: through the reader's thread (pageStoredAt) and decoded here (pageAt), side by side. */
async function bothWays(store: LevelLogStore, prefix: string, rev: number, limit: number, maxBytes: number, between?: (page: number) => Promise<void>): Promise<{ pages: number; records: LogRecord[] }> {
  let after: string | undefined;
  const records: LogRecord[] = [];
  for (let page = 0; ; page++) {
    const raw = await store.pageStoredAt!(prefix, rev, limit, after, maxBytes);
    const plain = await store.pageAt(prefix, rev, limit, after, maxBytes);
    expect(raw.last, `page ${page} ends where the same page read here ends`).toBe(plain.last);
    expect(decoded(raw.records), `page ${page}`).toEqual(plain.records);
    records.push(...plain.records);
    if (plain.last === undefined) return { pages: page + 1, records };
    after = plain.last;
    await between?.(page);
  }
}

describe("past Snapshot pages read on the store's reader thread", () => {
  it("are the pages read on the serving thread: budgets, key limits, keys born later, heads in memory", async () => {
    const store = await openStore();
    // Values of many sizes, so that pages end by their bytes at varied places.
    await store.commit(() => Array.from({ length: 3000 }, (_, i) => set(`p/${String(i).padStart(5, "0")}`, "x".repeat((i * 37) % 500))));
    const past = store.headRevision;
    // Keys born since, between the old ones: looked at, and left out of the past.
    await store.commit(() => Array.from({ length: 1000 }, (_, i) => set(`p/${String(i * 3).padStart(5, "0")}-new`, i)));
    // Two keys in three change: the third is still its head, held in memory.
    await store.commit(() => Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 3 !== 0).map((i) => set(`p/${String(i).padStart(5, "0")}`, "changed")));
    const before = store.stats.threadedPages ?? 0;
    for (const [limit, maxBytes] of [[10_000, 1024 * 1024], [10_000, 20_000], [100, 1024 * 1024], [7, 3000], [5000, 1]] as const) {
      const { records } = await bothWays(store, "p/", past, limit, maxBytes);
      expect(records.length, `${limit} keys, ${maxBytes} bytes a page`).toBe(3000);
      expect(records.every((r) => r.revision <= past)).toBe(true);
    }
    // Small records, half of them heads: a page's first scan, sized by the records of the
    // page before, falls short or runs long, and a page takes several.
    await store.commit(() => Array.from({ length: 3000 }, (_, i) => set(`s/${String(i).padStart(5, "0")}`, i % 10)));
    const small = store.headRevision;
    await store.commit(() => Array.from({ length: 1500 }, (_, i) => set(`s/${String(2 * i).padStart(5, "0")}`, "changed since")));
    for (const maxBytes of [1000, 2500, 5000, 9000, 20_000, 70_000]) {
      expect((await bothWays(store, "s/", small, 10_000, maxBytes)).records.length).toBe(3000);
      // Here and there, a page of large records.
      expect((await bothWays(store, "p/", past, 10_000, maxBytes)).records.length).toBe(3000);
    }
    expect((store.stats.threadedPages ?? 0) - before).toBeGreaterThan(100);
  });

  it("a page its first scan leaves room in ends before the record that passes its bytes", async () => {
    const store = await openStore();
    // Heads of 73 bytes each as a page counts them (64 + key, author and value): the first
    // scan of a store takes 64 keys, 4,672 bytes, and the next key would pass 4,700.
    await store.commit(() => Array.from({ length: 200 }, (_, i) => set(`t/${String(i).padStart(5, "0")}`, i % 10)));
    const past = store.headRevision;
    await store.commit(() => [set("u/later", 0)]);
    const { pages, records } = await bothWays(store, "t/", past, 10_000, 4700);
    expect(records.length).toBe(200);
    expect(pages).toBe(4);
  });

  it("a page read ahead is still the page at its revision when the keys change before it is asked for", async () => {
    const store = await openStore();
    await store.commit(() => Array.from({ length: 2000 }, (_, i) => set(`q/${String(i).padStart(4, "0")}`, i)));
    const past = store.headRevision;
    // Half the keys change; the other half are heads when the next page is read ahead.
    await store.commit(() => Array.from({ length: 1000 }, (_, i) => set(`q/${String(2 * i).padStart(4, "0")}`, "later")));
    // Between pages every key changes: the heads that the page read ahead held are heads no
    // more. (Where a page ends may then differ from a page read afterwards: a head's bytes are
    // counted from memory, a record read back by its stored bytes.)
    let after: string | undefined;
    const records: LogRecord[] = [];
    let pages = 0;
    for (;;) {
      const raw = await store.pageStoredAt!("q/", past, 10_000, after, 8000);
      records.push(...decoded(raw.records));
      pages++;
      if (raw.last === undefined) break;
      after = raw.last;
      await store.commit(() => Array.from({ length: 2000 }, (_, i) => set(`q/${String(i).padStart(4, "0")}`, `round ${pages}`)));
    }
    expect(pages).toBeGreaterThan(3);
    expect(records.map((r) => r.value)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(records.map((r) => r.key)).toEqual(Array.from({ length: 2000 }, (_, i) => `q/${String(i).padStart(4, "0")}`));
  });

  it("a reader whose thread has stopped says so, and the store then reads its pages itself", async () => {
    const store = await openStore();
    await store.commit(() => Array.from({ length: 50 }, (_, i) => set(`r/${String(i).padStart(2, "0")}`, i)));
    const past = store.headRevision;
    await store.commit(() => Array.from({ length: 50 }, (_, i) => set(`r/${String(i).padStart(2, "0")}`, -i)));
    await bothWays(store, "r/", past, 10, 500);
    const threaded = store.stats.threadedPages ?? 0;
    expect(threaded).toBeGreaterThan(0);
    // Its thread ends (as at close, or when it fails) while the store stays open.
    const reader = (store as unknown as { pastReader: PastReader }).pastReader;
    await reader.close();
    await expect(reader.read(new Float64Array([1]), 100, true)).rejects.toBeInstanceOf(PastReaderGone);
    const { records } = await bothWays(store, "r/", past, 10, 500);
    expect(records.map((r) => r.value)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(store.stats.threadedPages).toBe(threaded);
  });
});
