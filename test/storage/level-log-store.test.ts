import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock, type Clock } from "../../src/domain/clock.js";
import { describeCompaction } from "../../src/storage/compaction.conformance.js";
import { describeLogStore, T0 } from "../../src/storage/log-store.conformance.js";
import { LEVEL_STORE_DEFAULTS, LevelLogStore, type LevelLogStoreOptions } from "../../src/storage/level/level-log-store.js";
import { decodeRecord } from "../../src/storage/level/record-bytes.js";
import { isStoredBytes } from "../../src/storage/log-store.js";

const levelStore = (opts: Partial<LevelLogStoreOptions> = {}) => async (clock: Clock) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
  let store = new LevelLogStore(dir, clock, { ...LEVEL_STORE_DEFAULTS, ...opts });
  await store.open();
  return {
    store,
    reopen: async () => {
      await store.close();
      store = new LevelLogStore(dir, clock, { ...LEVEL_STORE_DEFAULTS, ...opts });
      await store.open();
      return store;
    },
    cleanup: async () => {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
};

describeLogStore("LevelLogStore", levelStore());
// Pages before the revision index is built (a large store, just opened) read the key index.
describeLogStore("LevelLogStore without its revision index", levelStore({ revisionIndex: "off" }));
// Every reopen reads the heads from a worker thread, as a store of more than AUTO_FULL_LIMIT revisions does.
describeLogStore("LevelLogStore reading its heads from a thread", levelStore({ headReader: "thread" }));
// Every batch built and written on a worker thread, as a batch of THREADED_BATCH records or more is.
describeLogStore("LevelLogStore writing every batch from a thread", levelStore({ threadedBatch: 1 }));
// Every batch of more than two records written in synced parts, as a threaded batch of more than BATCH_PART records is.
describeLogStore("LevelLogStore writing batches in parts", levelStore({ threadedBatch: 1, batchPart: 2 }));
describeCompaction("LevelLogStore", levelStore());
describeCompaction("LevelLogStore writing every batch from a thread", levelStore({ threadedBatch: 1 }));
describeCompaction("LevelLogStore without its revision index", levelStore({ revisionIndex: "off" }));
describeCompaction("LevelLogStore writing batches in parts", levelStore({ threadedBatch: 1, batchPart: 2 }));

describe("LevelLogStore specifics", () => {
  it("builds its revision index in the background while commits land, and then pages as the key index does", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
    const clock = new ManualClock(T0);
    const set = (key: string, value: number) => ({ key, value, deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" });
    const del = (key: string) => ({ key, deleted: true, author: "t", message: "", kind: "delete" as const, cause: "api" });
    try {
      const a = new LevelLogStore(dir, clock);
      await a.open();
      // 40 rounds over 500 keys (every fifth deleted in odd rounds): 20,000 index entries, several batches of the build.
      for (let round = 0; round < 40; round++) {
        await a.commit(() => Array.from({ length: 500 }, (_, i) => (round % 2 === 1 && i % 5 === 0 ? del(`k/${String(i).padStart(3, "0")}`) : set(`k/${String(i).padStart(3, "0")}`, round))));
      }
      await a.close();
      const b = new LevelLogStore(dir, clock, { ...LEVEL_STORE_DEFAULTS, revisionIndex: "background" });
      await b.open();
      expect(b.revisionIndexKeys).toBeUndefined();
      let built = false;
      void b.revisionIndexBuilt.then(() => (built = true));
      // Commits while the index is built: new keys, and new versions of old ones.
      let during = 0;
      while (!built) {
        const i = during++;
        await b.commit(() => [set(`k/${String((i * 7) % 500).padStart(3, "0")}`, 100 + i), set(`n/${i}`, i)]);
      }
      expect(during).toBeGreaterThan(0);
      // Every key, those of the commits made while it was built included.
      expect(b.revisionIndexKeys).toBe(500 + during);
      const all = async (s: LevelLogStore, prefix: string, rev: number, limit: number): Promise<string[]> => {
        const out: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await s.pageAt(prefix, rev, limit, after);
          out.push(...page.records.map((r) => `${r.key}@${r.revision}`));
          if (page.last === undefined) return out;
          after = page.last;
        }
      };
      const head = b.headRevision;
      const queries = [1, 499, 500, 501, 7777, 19_999, 20_000, 20_001, 20_002, head - 1, head].flatMap((rev) =>
        ["", "k/", "n/"].flatMap((prefix) => [7, 333, 10_000].map((limit) => ({ rev, prefix, limit }))),
      );
      const indexed: string[][] = [];
      for (const q of queries) indexed.push(await all(b, q.prefix, q.rev, q.limit));
      expect(await all(b, "", head, 10_000)).toHaveLength(500 + during);
      // A key at a revision: from the index's binary search, as from the key index's reverse seek.
      const points = [1, 499, 500, 501, 7777, 19_999, 20_000, 20_001, head - 1, head].flatMap((rev) => ["k/000", "k/005", "k/007", "k/499", "n/0", "n/1", "absent"].map((key) => ({ rev, key })));
      const at = async (s: LevelLogStore): Promise<string[]> => Promise.all(points.map(async (p) => { const r = await s.at(p.key, p.rev); return r === undefined ? "-" : `${r.revision}${r.deleted ? " deleted" : ""}`; }));
      const indexedAt = await at(b);
      expect(indexedAt.filter((x) => x.endsWith("deleted")).length).toBeGreaterThan(0);
      // A key's history, newest first, from the index as from the key index.
      const walks = ["k/000", "k/005", "k/007", "k/499", "n/0", "absent"].flatMap((key) => [1, 7, 25, 1000].flatMap((limit) => [undefined, 1, 2, 501, 10_000, head].map((before) => ({ key, limit, before }))));
      const histories = async (s: LevelLogStore): Promise<string[]> => Promise.all(walks.map(async (w) => (await s.history(w.key, w.limit, w.before)).map((r) => r.revision).join(",")));
      const indexedHistories = await histories(b);
      expect(indexedHistories.some((h) => h.split(",").length === 25)).toBe(true);
      await b.close();
      // The same pages from the key index on disk.
      const off = new LevelLogStore(dir, clock, { ...LEVEL_STORE_DEFAULTS, revisionIndex: "off" });
      await off.open();
      for (const [i, q] of queries.entries()) expect(indexed[i], `${q.prefix} at ${q.rev}, ${q.limit} a page`).toEqual(await all(off, q.prefix, q.rev, q.limit));
      expect(indexedAt).toEqual(await at(off));
      expect(indexedHistories).toEqual(await histories(off));
      await off.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("pages the past with records read from the log left as their stored bytes, the same records pageAt decodes, and decoded without its revision index", async () => {
    const set = (key: string, value: number) => ({ key, value, deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" });
    const del = (key: string) => ({ key, deleted: true, author: "t", message: "", kind: "delete" as const, cause: "api" });
    for (const revisionIndex of ["auto", "off"] as const) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
      const store = new LevelLogStore(dir, new ManualClock(T0), { ...LEVEL_STORE_DEFAULTS, revisionIndex });
      try {
        await store.open();
        for (let round = 0; round < 6; round++) await store.commit(() => Array.from({ length: 40 }, (_, i) => (round === 3 && i % 4 === 0 ? del(`s/${String(i).padStart(2, "0")}`) : set(`s/${String(i).padStart(2, "0")}`, round))));
        // Only the even keys change in the last round: at the head, the odd ones are as they were.
        await store.commit(() => Array.from({ length: 20 }, (_, i) => set(`s/${String(2 * i).padStart(2, "0")}`, 99)));
        for (const rev of [40, 130, 160, 240, store.headRevision]) {
          for (const limit of [7, 100]) {
            let after: string | undefined;
            let storedSeen = 0;
            for (;;) {
              const plain = await store.pageAt("s/", rev, limit, after, 2000);
              const raw = await store.pageStoredAt("s/", rev, limit, after, 2000);
              expect(raw.last).toBe(plain.last);
              const decoded = raw.records.map((r) => {
                if (!isStoredBytes(r)) return r;
                storedSeen++;
                const record = decodeRecord(r.stored);
                expect([r.key, r.revision]).toEqual([record.key, record.revision]);
                return record;
              });
              expect(decoded).toEqual(plain.records);
              if (plain.last === undefined) break;
              after = plain.last;
            }
            // In the past every record is read from the log, and comes as its bytes where the
            // revision index names its key; at the head, the odd keys are heads in memory.
            if (rev < 240) expect(storedSeen > 0).toBe(revisionIndex === "auto");
            if (rev === store.headRevision) expect(storedSeen).toBe(0);
          }
        }
      } finally {
        await store.close();
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
  });

  it("reads its heads from a thread, refuses a head it cannot read naming its revision, and lets go of the directory", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
    const clock = new ManualClock(T0);
    const opts = { ...LEVEL_STORE_DEFAULTS, verifyOnOpen: "tail" as const, headReader: "thread" as const };
    try {
      const a = new LevelLogStore(dir, clock, opts);
      await a.open();
      // 25,000 keys: three chunks of the reader, and a key with several versions.
      for (let b = 0; b < 25; b++) await a.commit(() => Array.from({ length: 1000 }, (_, i) => ({ key: `k/${b}/${i}`, value: { b, i, s: "é😀" }, deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" })));
      for (let v = 0; v < 3; v++) await a.commit(() => [{ key: "k/0/0", value: v, deleted: false, author: "t", message: "", kind: "set", cause: "api" }]);
      await expect(new LevelLogStore(dir, clock, opts).open()).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("in use by another ctmd") });
      await a.close();

      const b = new LevelLogStore(dir, clock, opts);
      await b.open();
      expect(b.keyCount).toBe(25_000);
      expect(b.stats.openLogReads).toBe(25_000);
      expect(b.latest("k/0/0")).toMatchObject({ value: 2, version: 4, revision: 25_003 });
      expect(b.latest("k/24/999")).toMatchObject({ value: { b: 24, i: 999, s: "é😀" }, revision: 25_000 });
      await b.close();

      const { Level } = await import("level");
      const raw = async (edit: (log: ReturnType<InstanceType<typeof Level<Buffer, Buffer>>["sublevel"]>) => Promise<void>) => {
        const db = new Level<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
        await edit(db.sublevel<Buffer, Buffer>("log", { keyEncoding: "buffer", valueEncoding: "buffer" }) as never);
        await db.close();
      };
      const rev = (n: number) => Buffer.from(n.toString(16).padStart(16, "0"), "hex");
      await raw((log) => log.put(rev(12_345), Buffer.from([0xff, 0x00, 0x13])));
      await expect(new LevelLogStore(dir, clock, opts).open()).rejects.toMatchObject({ code: "data_loss", message: expect.stringMatching(/at revision 12345: record does not decode/) });
      await raw((log) => log.del(rev(12_345)));
      // The refused open let go of the directory, and of the reader's handle: the next open gets as far as the head.
      await expect(new LevelLogStore(dir, clock, opts).open()).rejects.toMatchObject({ code: "data_loss", message: expect.stringMatching(/at revision 12345: the head index names a record the log lacks/) });
      await expect(new LevelLogStore(dir, clock, { ...opts, headReader: "inline" }).open()).rejects.toMatchObject({ message: expect.stringMatching(/at revision 12345: the head index names a record the log lacks/) });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("checks its whole log from a thread while it serves, and a close stops the check and lets go of the directory", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
    const clock = new ManualClock(T0);
    const set = (key: string, value: number) => ({ key, value, deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" });
    try {
      const a = new LevelLogStore(dir, clock);
      await a.open();
      // 30 commits of 1,000 records: the check takes many chunks.
      for (let round = 0; round < 30; round++) await a.commit(() => Array.from({ length: 1000 }, (_, i) => set(`k/${i}`, round)));
      const report = await a.verify();
      expect(report).toMatchObject({ ok: true, scope: "full", recordsChecked: 30_000, to: 30_000 });
      // Commits land while a check runs; it checks the snapshot it began with, whole.
      const checking = a.verify();
      await a.commit(() => [set("k/late", 1)]);
      const during = await checking;
      expect(during.ok).toBe(true);
      expect(during.recordsChecked).toBe(during.to);
      expect([30_000, 30_001]).toContain(during.to);
      // A close during a check stops it: the check answers UNAVAILABLE, and the directory opens again.
      const stopped = a.verify().then(
        () => "finished",
        (e: unknown) => e,
      );
      await a.close();
      expect(await stopped).toMatchObject({ code: "unavailable" });
      const b = new LevelLogStore(dir, clock);
      await b.open();
      expect(b.latest("k/late")?.revision).toBe(30_001);
      expect(await b.verify()).toMatchObject({ ok: true, to: 30_001 });
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a data directory with another schema version, and stays closed", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
    try {
      const clock = new ManualClock(T0);
      const a = new LevelLogStore(dir, clock);
      await a.open();
      await a.commit(() => [{ key: "k", value: 1, deleted: false, author: "t", message: "", kind: "set", cause: "api" }]);
      await a.close();
      // Rewrite meta!schema the way a future ctmd would.
      const { Level } = await import("level");
      const db = new Level<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
      const meta = db.sublevel<Buffer, Buffer>("meta", { keyEncoding: "buffer", valueEncoding: "buffer" });
      const future = Buffer.alloc(8);
      future.writeBigUInt64BE(99n);
      await meta.put(Buffer.from("schema"), future);
      await db.close();
      const b = new LevelLogStore(dir, clock);
      await expect(b.open()).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("schema 99") });
      expect(b.healthy).toBe(false);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("lets the event loop poll for I/O between telling the listeners of a large batch and its callers going on", async () => {
    const { store, cleanup } = await levelStore()(new ManualClock(T0));
    try {
      const order: string[] = [];
      store.onCommit((records) => {
        if (records[0]?.key !== "big/0") return;
        order.push("listeners told");
        // The loop polls for I/O between two check phases: this runs after that poll.
        setImmediate(() => setImmediate(() => order.push("after a poll")));
      });
      const set = (key: string) => ({ key, value: 1, deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" });
      // 5,000 records: heads staged and shown in one step, as any batch of 4,096 or more.
      const committed = store.commit(() => Array.from({ length: 5000 }, (_, i) => set(`big/${i}`)));
      const small = store.commit(() => [set("small")]);
      await committed.then(() => order.push("caller goes on"));
      await small;
      expect(order).toEqual(["listeners told", "after a poll", "caller goes on"]);
      expect(store.latest("big/4999")?.version).toBe(1);
      expect(store.latest("small")?.revision).toBe(5001);
    } finally {
      await cleanup();
    }
  });
});
