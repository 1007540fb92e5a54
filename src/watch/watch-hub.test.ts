import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, LogRecord } from "@ctm/core/record";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub, type WatchHubOptions } from "./watch-hub.js";
import type { Watcher } from "./watcher.js";

const set = (key: string, value: JsonValue): Draft => ({ key, value, deleted: false, author: "t", message: "", kind: "set", cause: "api" });
const del = (key: string): Draft => ({ key, deleted: true, author: "t", message: "", kind: "delete", cause: "api" });
const range1 = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const revs = (rs: readonly LogRecord[]): number[] => rs.map((r) => r.revision);

let dir: string;
let store: LevelLogStore;
let hubs: WatchHub[];

const hub = (opts?: WatchHubOptions): WatchHub => {
  const h = new WatchHub(store, opts);
  hubs.push(h);
  return h;
};
const write = (...drafts: Draft[]): Promise<LogRecord[]> => store.commit(() => drafts);

/** Pulls batches until `n` records arrived; fails if the iterator ends first. */
async function take(w: Watcher, n: number): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  while (out.length < n) {
    const r = await w.next();
    if (r.done) throw new Error(`watcher ended after ${out.length} of ${n} records`);
    expect(r.value.length).toBeGreaterThan(0);
    out.push(...r.value);
  }
  expect(out).toHaveLength(n);
  return out;
}

/** Pulls batches until a record satisfies `last`; returns everything up to it. */
async function takeUntil(w: Watcher, last: (r: LogRecord) => boolean): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (;;) {
    const r = await w.next();
    if (r.done) throw new Error(`watcher ended after ${out.length} records`);
    out.push(...r.value);
    if (r.value.some(last)) return out;
  }
}

/** Resolves after pending I/O callbacks and microtasks have run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-watch-"));
  store = new LevelLogStore(dir, new ManualClock(Date.UTC(2024, 0, 1)));
  await store.open();
  hubs = [];
});
afterEach(async () => {
  for (const h of hubs) h.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("WatchHub", () => {
  it("delivers live events for a key in order, and nothing else", async () => {
    const h = hub();
    const w = h.watch({ key: "k", prefix: false }, 0);
    const writes: Promise<LogRecord[]>[] = [];
    for (let i = 0; i < 50; i++) {
      writes.push(write(set("k", i)));
      writes.push(write(set("k2", i), set("other", i)));
      if (i === 20) writes.push(write(del("k")));
    }
    const written = (await Promise.all(writes)).flat().filter((r) => r.key === "k");
    const got = await take(w, written.length);
    expect(got).toEqual(written);
    expect(got.map((r) => r.version)).toEqual(range1(1, 51));
    expect(got[21]).toMatchObject({ deleted: true, kind: "delete" });
  });

  it("starts after the head when start revision is 0", async () => {
    await write(set("k", "old"));
    const w = hub().watch({ key: "k", prefix: false }, 0);
    await write(set("k", "new"));
    expect((await take(w, 1)).map((r) => r.value)).toEqual(["new"]);
  });

  it("starts at a future start revision, skipping what comes before it", async () => {
    await write(set("k", 0));
    const w = hub().watch({ key: "k", prefix: false }, 4);
    const written = (await Promise.all([write(set("k", 1)), write(set("k", 2)), write(set("k", 3), set("k", 4))])).flat();
    expect(revs(written)).toEqual([2, 3, 4, 5]);
    expect(await take(w, 2)).toEqual(written.slice(2));
  });

  it("replays from a past revision, including tombstones, then continues live", async () => {
    for (let i = 1; i <= 30; i++) await write(i % 10 === 0 ? del("k") : set("k", i), set("x", i));
    const expected = (await store.range(21, 60, 1000, "k")).map((r) => r.revision);
    const w = hub({ readBatch: 4 }).watch({ key: "k", prefix: false }, 21);
    const replay = await take(w, expected.length);
    expect(revs(replay)).toEqual(expected);
    expect(replay.at(-1)).toMatchObject({ deleted: true });
    const [live] = await write(set("k", "live"));
    expect(await take(w, 1)).toEqual([live]);
  });

  for (const [label, opts] of [
    ["default buffers", {}],
    ["tiny buffers and read batches", { bufferLimit: 3, readBatch: 5 }],
  ] as const) {
    it(`replay + live with concurrent writers has no gap and no duplicate (${label})`, async () => {
      for (let i = 0; i < 120; i++) await write(set(`k`, i), set(`p/${i % 3}`, i), set("noise", i));
      const h = hub(opts);
      const start = 37;
      const keyWatcher = h.watch({ key: "k", prefix: false }, start);
      const prefixWatcher = h.watch({ key: "p/", prefix: true }, start);

      const writer = async (id: number): Promise<void> => {
        for (let i = 0; i < 150; i++) {
          const batch = [set(`p/${(i + id) % 3}`, i), set("noise", i)];
          if ((i + id) % 2 === 0) batch.push(set("k", `${id}:${i}`));
          if (i % 37 === 0) batch.push(del("k"));
          await write(...batch);
          if (i % 10 === 0) await settle();
        }
      };
      const done = "END";
      const watchers = Promise.all([
        takeUntil(keyWatcher, (r) => r.key === "k" && r.value === done),
        takeUntil(prefixWatcher, (r) => r.key === "p/end"),
      ]);
      await Promise.all([writer(0), writer(1), writer(2)]);
      const [endK, endP] = await write(set("k", done), set("p/end", done));
      const [gotK, gotP] = await watchers;

      const all = await store.range(start, store.headRevision, 1_000_000);
      expect(revs(gotK)).toEqual(revs(all.filter((r) => r.key === "k")));
      expect(revs(gotP)).toEqual(revs(all.filter((r) => r.key.startsWith("p/"))));
      expect(gotK.at(-1)).toEqual(endK);
      expect(gotP.at(-1)).toEqual(endP);
      expect(gotK[0]!.revision).toBeGreaterThanOrEqual(start);
      // Strictly increasing: no duplicates, no reordering.
      for (const got of [gotK, gotP]) for (let i = 1; i < got.length; i++) expect(got[i]!.revision).toBeGreaterThan(got[i - 1]!.revision);
    });
  }

  it("prefix watchers see exactly the keys under their prefix", async () => {
    const h = hub();
    const app = h.watch({ key: "app/", prefix: true }, 0);
    const all = h.watch({ key: "", prefix: true }, 0);
    const exact = h.watch({ key: "app", prefix: false }, 0);
    const written = (
      await Promise.all([
        write(set("app/a", 1)),
        write(set("apps", 1), set("app/b", 1), set("app", 1)),
        write(set("other", 1)),
        write(del("app/a")),
      ])
    ).flat();
    expect(await take(app, 3)).toEqual(written.filter((r) => r.key.startsWith("app/")));
    expect(await take(all, written.length)).toEqual(written);
    expect(await take(exact, 1)).toEqual(written.filter((r) => r.key === "app"));
    // Nothing more is pending for the narrow watchers.
    expect(app.progressRevision()).toBe(store.headRevision);
    expect(exact.progressRevision()).toBe(store.headRevision);
  });

  it("several watchers of one key each get every event", async () => {
    const h = hub();
    const ws = [0, 1, 2].map(() => h.watch({ key: "k", prefix: false }, 0));
    const written = (await Promise.all([write(set("k", 1)), write(set("k", 2), set("j", 2))])).flat().filter((r) => r.key === "k");
    for (const w of ws) expect(await take(w, 2)).toEqual(written);
  });

  it("a slow watcher does not block commits, and later delivers every record once, in order", async () => {
    const h = hub({ bufferLimit: 16 });
    const slowAll = h.watch({ key: "", prefix: true }, 0);
    const slowKey = h.watch({ key: "k7", prefix: false }, 0);
    // 5000 records, nobody reading: every commit must still resolve.
    for (let round = 0; round < 50; round++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => write(set(`k${i % 10}`, round * 100 + i))));
    }
    expect(store.headRevision).toBe(5000);
    const got = await take(slowAll, 5000);
    expect(revs(got)).toEqual(range1(1, 5000));
    const gotKey = await take(slowKey, 500);
    expect(gotKey.every((r) => r.key === "k7")).toBe(true);
    expect(gotKey.map((r) => r.version)).toEqual(range1(1, 500));
    // Caught up, they are live again.
    const [next] = await write(set("k7", "after"));
    expect(await take(slowAll, 1)).toEqual([next]);
    expect(await take(slowKey, 1)).toEqual([next]);
  });

  it("a watcher falling behind mid-stream resumes from the log without gaps", async () => {
    const h = hub({ bufferLimit: 4, readBatch: 3 });
    const w = h.watch({ key: "", prefix: true }, 0);
    const seen: number[] = [];
    // Consume a little, write a lot, consume a little, ...
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 1 + (round % 7) * 3 }, (_, i) => write(set(`k${i % 3}`, i))));
      const r = await w.next();
      seen.push(...revs(r.value as LogRecord[]));
    }
    seen.push(...revs(await take(w, store.headRevision - seen.length)));
    expect(seen).toEqual(range1(1, store.headRevision));
  });

  describe("progressRevision", () => {
    it("is the head for an idle, caught-up watcher, and never passes an undelivered record", async () => {
      await write(set("k", 1), set("x", 1), set("x", 2));
      const h = hub();
      const w = h.watch({ key: "k", prefix: false }, 0);
      expect(w.progressRevision()).toBe(3);
      // Records for other keys advance it.
      await write(set("x", 3));
      expect(w.progressRevision()).toBe(4);
      // A pending record for the watched key holds it back.
      const [k5] = await write(set("k", 2));
      expect(w.progressRevision()).toBeLessThan(k5!.revision);
      expect(w.progressRevision()).toBeGreaterThanOrEqual(3);
      expect(await take(w, 1)).toEqual([k5]);
      expect(w.progressRevision()).toBe(5);
      // Idle again, with a next() waiting: other keys advance it.
      const pending = w.next();
      await write(set("x", 4));
      expect(w.progressRevision()).toBe(6);
      const [k7] = await write(set("k", 3));
      expect((await pending).value).toEqual([k7]);
      expect(w.progressRevision()).toBe(7);
    });

    it("stays below the first undelivered record while replaying", async () => {
      for (let i = 0; i < 10; i++) await write(set("x", i), set("k", i));
      const h = hub({ readBatch: 2 });
      const w = h.watch({ key: "k", prefix: false }, 5);
      expect(w.progressRevision()).toBeLessThan(6);
      const delivered: LogRecord[] = [];
      while (delivered.length < 8) {
        const r = await w.next();
        delivered.push(...(r.value as LogRecord[]));
        const p = w.progressRevision();
        expect(p).toBeGreaterThanOrEqual(delivered.at(-1)!.revision);
        const undelivered = revs(await store.range(delivered.at(-1)!.revision + 1, store.headRevision, 1000, "k"));
        if (undelivered.length > 0) expect(p).toBeLessThan(undelivered[0]!);
      }
      expect(revs(delivered)).toEqual([6, 8, 10, 12, 14, 16, 18, 20]);
      expect(w.progressRevision()).toBe(20);
    });
  });

  describe("closing", () => {
    it("close() ends every iterator, including one waiting in next()", async () => {
      const h = hub();
      const a = h.watch({ key: "k", prefix: false }, 0);
      const b = h.watch({ key: "", prefix: true }, 0);
      await write(set("k", 1));
      expect(h.size).toBe(2);
      expect(await take(a, 1)).toHaveLength(1);
      const waiting = a.next();
      const drained = (async () => {
        const got: LogRecord[] = [];
        for await (const batch of b) got.push(...batch);
        return got;
      })();
      await settle();
      h.close();
      expect(await waiting).toMatchObject({ done: true });
      await drained; // the for-await loop ended
      expect(await a.next()).toMatchObject({ done: true });
      expect(h.size).toBe(0);
      // The store goes on; closed watchers hear nothing more.
      await write(set("k", 2));
      expect(await b.next()).toMatchObject({ done: true });
    });

    it("breaking out of for-await removes the watcher from the hub", async () => {
      const h = hub();
      const w = h.watch({ key: "k", prefix: false }, 0);
      const other = h.watch({ key: "k", prefix: false }, 0);
      await write(set("k", 1));
      for await (const batch of w) {
        expect(batch).toHaveLength(1);
        break;
      }
      expect(h.size).toBe(1);
      expect(await w.next()).toMatchObject({ done: true });
      expect(await take(other, 1)).toHaveLength(1);
      other.close();
      expect(h.size).toBe(0);
    });
  });
});
