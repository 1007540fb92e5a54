/**
 * The LogStore contract as tests. Every LogStore implementation runs this suite:
 *
 *   describeLogStore("MyStore", async (clock) => ({ store, reopen, cleanup }));
 *
 * The factory is called once per test with a fresh ManualClock and must return
 * an OPEN, empty store that takes its time from that clock; `reopen` closes the
 * current store and returns a new, open one over the same data (same clock);
 * `cleanup` closes whatever is open and removes the data.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock, type Clock } from "../domain/clock.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, LogRecord } from "@ctm/core/record";
import type { LogStore, WriteView } from "./log-store.js";

export interface LogStoreFixture {
  store: LogStore;
  reopen: () => Promise<LogStore>;
  cleanup: () => Promise<void>;
}

/** The clock argument is a ManualClock the suite drives; factories that ignore time may ignore it. */
export type LogStoreFactory = (clock: Clock) => Promise<LogStoreFixture>;

/** 2024-01-01T00:00:00Z: a realistic wall time for the suite's clock. */
export const T0 = Date.UTC(2024, 0, 1);

const set = (key: string, value: JsonValue, extra: Partial<Draft> = {}): Draft => ({
  key,
  value,
  deleted: false,
  author: "tester",
  message: `set ${key}`,
  kind: "set",
  cause: "api",
  ...extra,
});
const del = (key: string): Draft => ({ key, deleted: true, author: "tester", message: `delete ${key}`, kind: "delete", cause: "api" });

const revs = (rs: readonly LogRecord[]): number[] => rs.map((r) => r.revision);
const range1 = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Everything a reader can observe about one key, for before/after comparisons. */
async function snapshotKey(store: LogStore, key: string): Promise<unknown> {
  const latest = store.latest(key);
  return {
    latest,
    history: await store.history(key, 1_000_000),
    first: await store.version(key, 1),
    atHead: await store.at(key, store.headRevision),
    range: await store.range(1, store.headRevision, 1_000_000, key),
  };
}

export function describeLogStore(name: string, factory: LogStoreFactory): void {
  describe(`LogStore conformance: ${name}`, () => {
    let fx: LogStoreFixture;
    let store: LogStore;
    let clock: ManualClock;

    /** Commits one draft list and returns its records. */
    const write = (...drafts: Draft[]): Promise<LogRecord[]> => store.commit(() => drafts);
    const reopen = async (): Promise<LogStore> => (store = await fx.reopen());

    beforeEach(async () => {
      clock = new ManualClock(T0);
      fx = await factory(clock);
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    describe("an empty store", () => {
      it("is open, healthy and at revision 0", async () => {
        expect(store.healthy).toBe(true);
        expect(store.headRevision).toBe(0);
        expect(store.firstRevision).toBeLessThanOrEqual(1);
        expect(store.stats.batches).toBe(0);
        expect(store.stats.records).toBe(0);
        expect(store.latest("k")).toBeUndefined();
        expect(store.latestUnder("")).toEqual([]);
        expect([...store.eachLatest("")]).toEqual([]);
        expect(store.keyCount).toBe(0);
        expect(await store.at("k", 1)).toBeUndefined();
        expect(await store.version("k", 1)).toBeUndefined();
        expect(await store.history("k", 10)).toEqual([]);
        expect(await store.revisionAt(T0 + 1000)).toBe(0);
        expect(await store.range(1, 100, 100)).toEqual([]);
      });
    });

    describe("pageAt", () => {
      const set = (key: string, value: JsonValue): Draft => ({ key, value, deleted: false, author: "t", message: "", kind: "set", cause: "api" });
      const del = (key: string): Draft => ({ key, deleted: true, author: "t", message: "", kind: "delete", cause: "api" });
      const all = async (prefix: string, revision: number, limit: number): Promise<{ pages: number; records: LogRecord[] }> => {
        const records: LogRecord[] = [];
        let after: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await store.pageAt(prefix, revision, limit, after);
          pages++;
          records.push(...page.records);
          if (page.last === undefined) return { pages, records };
          after = page.last;
        }
      };
      const view = (rs: LogRecord[]) => rs.map((r) => `${r.key}@${r.version}${r.deleted ? "x" : ""}`);

      it("answers every key under a prefix as it stood at a revision, paged, in UTF-8 byte order", async () => {
        await write(set("app/a", 1), set("app/b", 1), set("apq", 1)); // r1-3
        await write(set("app/a", 2)); // r4
        await write(del("app/b")); // r5
        await write(set("app/c", 1), set("app/\u{1F600}", 1), set("app/\uFFFD", 1)); // r6-8
        await write(set("app/a", 3)); // r9
        expect(view((await all("app/", 4, 100)).records)).toEqual(["app/a@2", "app/b@1"]);
        expect(view((await all("app/", 5, 100)).records)).toEqual(["app/a@2", "app/b@2x"]);
        // UTF-8 byte order puts U+FFFD (EF BF BD) before U+1F600 (F0 9F 98 80); UTF-16 order would not.
        const now = await all("app/", 9, 1);
        expect(view(now.records)).toEqual(["app/a@3", "app/b@2x", "app/c@1", "app/\uFFFD@1", "app/\u{1F600}@1"]);
        expect(now.pages).toBe(5);
        expect(view((await all("", 3, 2)).records)).toEqual(["app/a@1", "app/b@1", "apq@1"]);
        expect(await store.pageAt("zzz/", 9, 10)).toEqual({ records: [] });
        // A revision past the head reads the head; keys born later have no record at an earlier one.
        expect(view((await all("app/", 1000, 3)).records)).toEqual(view(now.records));
        expect(view((await all("app/", 1, 3)).records)).toEqual(["app/a@1"]);
      });

      it("finds a key's record at a revision deep in a long history", async () => {
        for (let i = 1; i <= 150; i++) await write(set("long/a", i), set("long/b", i));
        await write(set("long/c", 1));
        expect(view((await all("long/", 2 * 100, 2)).records)).toEqual(["long/a@100", "long/b@100"]);
        expect(view((await all("long/", 1, 1)).records)).toEqual(["long/a@1"]);
        expect(view((await all("long/", 1000, 10)).records)).toEqual(["long/a@150", "long/b@150", "long/c@1"]);
      });

      it("ends a page before the record that would pass its byte budget, and goes on from there", async () => {
        const big = "x".repeat(3000);
        await write(set("b/1", big), set("b/2", big), set("b/3", "small"), set("b/4", big + big + big), set("b/5", big));
        const sizes: string[][] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.pageAt("b/", 5, 100, after, 7000);
          sizes.push(page.records.map((r) => r.key));
          if (page.last === undefined) break;
          expect(page.last).toBe(page.records[page.records.length - 1]!.key);
          after = page.last;
        }
        // b/4 alone passes the budget: it is sent on a page of its own.
        expect(sizes).toEqual([["b/1", "b/2", "b/3"], ["b/4"], ["b/5"]]);
      });

      it("counts keys looked at, so a page may be short but still says where to go on", async () => {
        await write(set("k/1", 1), set("k/2", 1), set("k/3", 1), set("k/4", 1));
        await write(set("k/0", 1));
        const page = await store.pageAt("k/", 4, 2);
        expect([view(page.records), page.last]).toEqual([["k/1@1"], "k/1"]);
        const next = await store.pageAt("k/", 4, 2, page.last);
        expect([view(next.records), next.last]).toEqual([["k/2@1", "k/3@1"], "k/3"]);
        expect(view((await store.pageAt("k/", 4, 2, next.last)).records)).toEqual(["k/4@1"]);
      });
    });

    describe("eachLatest and keyCount", () => {
      it("give latestUnder's records, unsorted, and count every key with its tombstones", async () => {
        await write({ key: "b/2", value: 1, deleted: false, author: "t", message: "", kind: "set", cause: "api" }, { key: "a/1", value: 1, deleted: false, author: "t", message: "", kind: "set", cause: "api" });
        await write({ key: "b/1", deleted: true, author: "t", message: "", kind: "delete", cause: "api" }, { key: "b/2", value: 2, deleted: false, author: "t", message: "", kind: "set", cause: "api" });
        const byKey = (rs: Iterable<LogRecord>) => [...rs].sort((x, y) => (x.key < y.key ? -1 : 1));
        expect(byKey(store.eachLatest("b/"))).toEqual(store.latestUnder("b/"));
        expect(byKey(store.eachLatest(""))).toEqual(store.latestUnder(""));
        expect(store.keyCount).toBe(3);
        await reopen();
        expect(store.keyCount).toBe(3);
        expect(byKey(store.eachLatest(""))).toEqual(store.latestUnder(""));
      });
    });

    describe("notes", () => {
      it("keep the latest bytes under a name across a reopen, outside the log and its checks", async () => {
        expect(await store.readNote("auth/usage")).toBeUndefined();
        await write({ key: "k", value: 1, deleted: false, author: "t", message: "", kind: "set", cause: "api" });
        await store.writeNote("auth/usage", Buffer.from("first"));
        await store.writeNote("auth/usage", Buffer.from("second"));
        await store.writeNote("other", Buffer.from([0, 255]));
        await reopen();
        expect((await store.readNote("auth/usage"))?.toString()).toBe("second");
        expect([...(await store.readNote("other"))!]).toEqual([0, 255]);
        expect(store.headRevision).toBe(1);
        expect(await store.range(1, 100, 100)).toHaveLength(1);
        expect((await store.verify()).ok).toBe(true);
      });

      it("notesUnder reads under many prefixes at once, each note once where prefixes overlap or repeat, and a prefix of many notes whole", async () => {
        const written = new Map<string, string>([
          ...Array.from({ length: 200 }, (_, i) => [`r/k${i}@a`, `a${i}`] as const),
          ["r/k1@b", "b1"],
          ["other/x", "x"],
          ...Array.from({ length: 250 }, (_, i) => [`big/${String(i).padStart(3, "0")}`, `big${i}`] as const),
        ]);
        await store.writeNotes([...written].map(([n, v]) => [n, Buffer.from(v)] as const));
        const read = async (prefixes: string[]): Promise<[string, string][]> => {
          const out: [string, string][] = [];
          for await (const [n, v] of store.notesUnder(prefixes)) out.push([n, v.toString()]);
          return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        };
        const under = (...prefixes: string[]): [string, string][] => [...written].filter(([n]) => prefixes.some((p) => n.startsWith(p))).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        expect(await read([])).toEqual([]);
        // "r/k1" covers "r/k1@" and r/k10..r/k199: each of their notes comes once.
        expect(await read(["r/k1@", "r/k1", "r/k2@", "r/k2@", "big/", "none/"])).toEqual(under("r/k1", "r/k2@", "big/"));
        // More prefixes than one etcd transaction holds.
        const each = Array.from({ length: 200 }, (_, i) => `r/k${i}@`);
        expect(await read(each)).toEqual(under("r/"));
      });
    });

    describe("commit", () => {
      it("gives gap-free revisions from 1, consecutive within a commit", async () => {
        expect(revs(await write(set("a", 1)))).toEqual([1]);
        expect(revs(await write(set("b", 1), set("c", 1), set("d", 1)))).toEqual([2, 3, 4]);
        expect(revs(await write(set("a", 2), del("b")))).toEqual([5, 6]);
        expect(store.headRevision).toBe(6);
        expect(revs(await store.range(1, 6, 100))).toEqual([1, 2, 3, 4, 5, 6]);
        expect(store.stats.records).toBe(6);
      });

      it("counts versions per key, on across deletes", async () => {
        const [a1] = await write(set("a", 1));
        const [b1] = await write(set("b", 1));
        const [a2] = await write(del("a"));
        const [a3] = await write(set("a", 3));
        expect([a1!.version, a2!.version, a3!.version, b1!.version]).toEqual([1, 2, 3, 1]);
        expect(a2).toMatchObject({ deleted: true, kind: "delete" });
        // Several drafts for one key in one commit get consecutive versions.
        const rs = await write(set("a", 4), set("b", 2), set("a", 5));
        expect(rs.map((r) => [r.key, r.version])).toEqual([
          ["a", 4],
          ["b", 2],
          ["a", 5],
        ]);
        expect(store.latest("a")).toMatchObject({ version: 5, value: 5 });
      });

      it("records every field of the draft, and only those it has", async () => {
        const [r] = await write(set("k", { x: [1, "two", null, true, 2.5] }, { author: "alice", message: "why", cause: "scheduler", kind: "rollback", rolledBackTo: 3 }));
        expect(r).toEqual({
          revision: 1,
          key: "k",
          version: 1,
          value: { x: [1, "two", null, true, 2.5] },
          deleted: false,
          time: T0,
          author: "alice",
          message: "why",
          kind: "rollback",
          cause: "scheduler",
          rolledBackTo: 3,
        });
        const [t] = await write(del("k"));
        expect(t).toMatchObject({ key: "k", version: 2, deleted: true, kind: "delete" });
        expect(Object.hasOwn(t!, "value")).toBe(false);
        expect(Object.hasOwn(t!, "rolledBackTo")).toBe(false);
        // An explicitly undefined optional field is absent too.
        const [u] = await write({ ...set("k", 1), rolledBackTo: undefined });
        expect(Object.hasOwn(u!, "rolledBackTo")).toBe(false);
        expect(await store.version("k", 1)).toEqual(r);
        expect(await store.version("k", 2)).toEqual(t);
      });

      it("runs prepare synchronously against the writer's view, including commits not yet durable", async () => {
        const first = write(set("a", 1), set("p/x", 1));
        let seen: ReturnType<WriteView["head"]>;
        let keys: string[] = [];
        let ran = false;
        const second = store.commit((view) => {
          ran = true;
          seen = view.head("a");
          keys = [...view.keys("p/")];
          return [set("a", 2), set("p/y", 1)];
        });
        expect(ran).toBe(true);
        expect(seen!).toMatchObject({ version: 1, revision: 1, deleted: false });
        expect(keys).toEqual(["p/x"]);
        await Promise.all([first, second]);
        const third = store.commit((view) => {
          expect(view.head("a")).toMatchObject({ version: 2, revision: 3 });
          expect(view.head("missing")).toBeUndefined();
          expect([...view.keys("p/")].sort()).toEqual(["p/x", "p/y"]);
          expect([...view.keys("")].sort()).toEqual(["a", "p/x", "p/y"]);
          return [del("p/x")];
        });
        await third;
        // Tombstoned keys stay in the view.
        await store.commit((view) => {
          expect(view.head("p/x")).toMatchObject({ version: 2, deleted: true });
          expect([...view.keys("p/")].sort()).toEqual(["p/x", "p/y"]);
          return [];
        });
      });

      it("writes nothing when prepare throws, and rejects with its error", async () => {
        await write(set("a", 1), set("b", 1));
        const before = await snapshotKey(store, "a");
        const stats = store.stats;
        const calls: LogRecord[][] = [];
        store.onCommit((rs) => calls.push([...rs]));
        const boom = new Error("boom");
        let p: Promise<LogRecord[]> | undefined;
        // A promise-returning API reports failure by rejecting, not by throwing.
        expect(() => {
          p = store.commit((view) => {
            view.head("a");
            throw boom;
          });
        }).not.toThrow();
        await expect(p).rejects.toBe(boom);
        expect(store.headRevision).toBe(2);
        expect(store.latest("a")).toMatchObject({ version: 1, value: 1 });
        expect(await snapshotKey(store, "a")).toEqual(before);
        expect(store.stats.batches).toBe(stats.batches);
        expect(store.stats.records).toBe(stats.records);
        expect(calls).toEqual([]);
        // No revision or version was used up.
        const [r] = await write(set("a", 2));
        expect(r).toMatchObject({ revision: 3, version: 2 });
        expect(revs(calls.flat())).toEqual([3]);
        expect(store.healthy).toBe(true);
      });

      it("writes nothing for an empty draft list", async () => {
        await write(set("a", 1));
        const calls: unknown[] = [];
        store.onCommit((rs) => calls.push(rs));
        const batches = store.stats.batches;
        await expect(store.commit(() => [])).resolves.toEqual([]);
        expect(store.headRevision).toBe(1);
        expect(store.stats.batches).toBe(batches);
        expect(calls).toEqual([]);
        expect(revs(await write(set("a", 2)))).toEqual([2]);
      });

      it("group-commits: 200 commits started in one tick all resolve, consecutive, in fewer batches", async () => {
        const batches = store.stats.batches;
        const pending = Array.from({ length: 200 }, (_, i) =>
          i % 10 === 9 ? write(set(`k${i % 7}`, i), set(`k${(i + 1) % 7}`, -i)) : write(set(`k${i % 7}`, i)),
        );
        const results = await Promise.all(pending);
        const all = results.flat();
        expect(all).toHaveLength(220);
        // Revisions follow the order in which commits were started.
        expect(revs(all)).toEqual(range1(1, 220));
        for (const rs of results) expect(revs(rs)).toEqual(range1(rs[0]!.revision, rs[0]!.revision + rs.length - 1));
        expect(store.headRevision).toBe(220);
        expect(store.stats.records).toBe(220);
        const used = store.stats.batches - batches;
        expect(used).toBeGreaterThanOrEqual(1);
        expect(used).toBeLessThan(200);
        // Versions per key are gap-free too.
        for (let k = 0; k < 7; k++) {
          const versions = all.filter((r) => r.key === `k${k}`).map((r) => r.version);
          expect(versions).toEqual(range1(1, versions.length));
        }
      });

      it("commitAlone: commits made while it prepares wait and follow it, in order; reads are served meanwhile", async () => {
        await write(set("a", 1));
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let sawA: number | undefined;
        const alone = store.commitAlone(async (view, pause) => {
          await gate;
          sawA = view.head("a")?.version;
          const drafts: Draft[] = [];
          for (let i = 0; i < 500; i++) {
            drafts.push(set(`big/${String(i).padStart(3, "0")}`, i));
            const p = pause();
            if (p) await p;
          }
          return drafts;
        });
        // Made while commitAlone prepares: neither is prepared until its drafts have revisions.
        let prepared = 0;
        const later = store.commit((view) => {
          prepared++;
          return [set("a", 2, { message: `after version ${view.head("a")!.version}` })];
        });
        const last = store.commitAlone(async () => [set("z", 1)]);
        await new Promise((r) => setImmediate(r));
        expect(prepared).toBe(0);
        // Reads go on while it prepares.
        expect(store.latest("a")).toMatchObject({ version: 1 });
        expect(await store.history("a", 10)).toHaveLength(1);
        release();
        const [big, after, z] = await Promise.all([alone, later, last]);
        expect(sawA).toBe(1);
        expect(revs(big)).toEqual(range1(2, 501));
        expect(revs(after)).toEqual([502]);
        expect(after[0]!.message).toBe("after version 1");
        expect(revs(z)).toEqual([503]);
        expect(store.headRevision).toBe(503);
        expect((await store.pageAt("big/", 503, 1000)).records).toHaveLength(500);
      });

      it("a batch of thousands of records is seen whole from the moment it lands, and the commit after it lands after it", async () => {
        const n = 5000;
        const keys = Array.from({ length: n }, (_, i) => `w/${String(i).padStart(5, "0")}`);
        // Half the keys exist before; the batch writes them again and creates the other half.
        await write(...keys.slice(0, n / 2).map((k) => set(k, 0)));
        // What a listener (and any reader in that turn) sees as the batch lands.
        const seen: { keyCount: number; latest: (LogRecord | undefined)[]; under: number; each: number; all: number }[] = [];
        const stop = store.onCommit((rs) => {
          if (seen.length > 0 || rs[0]!.key !== keys[0] || rs[0]!.value !== 1) return;
          seen.push({ keyCount: store.keyCount, latest: keys.map((k) => store.latest(k)), under: store.latestUnder("w/").length, each: [...store.eachLatest("w/")].length, all: [...store.eachLatest("")].length });
        });
        const big = store.commitAlone(async () => keys.map((k) => set(k, 1)));
        const after = store.commit(() => [set(keys[0]!, 2), set("w/new", 2)]);
        const records = await big;
        stop();
        expect(seen).toHaveLength(1);
        expect(seen[0]!.latest.every((r, i) => r === records[i])).toBe(true);
        expect([seen[0]!.keyCount, seen[0]!.under, seen[0]!.each, seen[0]!.all]).toEqual([n, n, n, n]);
        expect(records).toHaveLength(n);
        expect(store.headRevision).toBe(records[n - 1]!.revision);
        expect(store.keyCount).toBe(n);
        keys.forEach((k, i) => expect(store.latest(k)).toBe(records[i]));
        expect(store.latestUnder("w/").map((r) => r.revision)).toEqual(revs(records));
        expect([...store.eachLatest("w/")].map((r) => r.revision).sort((a, b) => a - b)).toEqual(revs(records));
        expect([...store.eachLatest("")]).toHaveLength(n);
        const [a0, created] = await after;
        expect([a0!.revision, created!.revision]).toEqual([records[n - 1]!.revision + 1, records[n - 1]!.revision + 2]);
        expect(store.latest(keys[0]!)).toBe(a0);
        expect(store.latest(keys[1]!)).toBe(records[1]);
        expect(store.keyCount).toBe(n + 1);
        expect(store.latestUnder("w/")).toHaveLength(n + 1);
        expect((await store.pageAt("w/", store.headRevision, n + 10)).records).toHaveLength(n + 1);
      }, 60_000);

      it("the writer's view lists every key once while the batches that wrote them land", async () => {
        await write(set("p/old", 1));
        // Not yet durable when commitAlone starts: these keys exist only in the writer's view.
        const landing = [store.commit(() => [set("p/new1", 1), set("p/old", 2)]), store.commit(() => [set("p/new2", 1)])];
        const seen: string[] = [];
        const heads: (number | undefined)[] = [];
        await store.commitAlone(async (view) => {
          for (const key of view.keys("p/")) {
            seen.push(key);
            heads.push(view.head(key)?.version);
            // The batches land while the keys they wrote are being listed.
            if (key.startsWith("p/new")) await Promise.all(landing);
          }
          return [];
        });
        expect([...seen].sort()).toEqual(["p/new1", "p/new2", "p/old"]);
        expect(heads[seen.indexOf("p/old")]).toBe(2);
        expect(heads[seen.indexOf("p/new1")]).toBe(1);
        expect([...store.eachLatest("p/")].map((r) => r.key).sort()).toEqual(["p/new1", "p/new2", "p/old"]);
      });

      it("commitAlone writes nothing when prepare throws, and lets the waiting commits through", async () => {
        await write(set("a", 1));
        const boom = new Error("boom");
        const failed = store.commitAlone(async (_view, pause) => {
          await (pause() ?? Promise.resolve());
          throw boom;
        });
        const next = write(set("a", 2));
        await expect(failed).rejects.toBe(boom);
        expect(revs(await next)).toEqual([2]);
        expect(store.latest("a")).toMatchObject({ version: 2, value: 2 });
        expect(store.stats.records).toBe(2);
        await expect(store.commitAlone(async () => [])).resolves.toEqual([]);
        expect(store.headRevision).toBe(2);
      });

      it("gives every commit a time from the clock", async () => {
        const [a] = await write(set("a", 1));
        clock.advance(1500);
        const [b, c] = await write(set("b", 1), set("c", 1));
        expect(a!.time).toBe(T0);
        expect(b!.time).toBe(T0 + 1500);
        expect(c!.time).toBe(T0 + 1500);
      });

      it("never lets time decrease, even when the clock goes backwards", async () => {
        clock.set(T0 + 5000);
        const [a] = await write(set("a", 1));
        clock.set(T0 + 4000);
        const [b] = await write(set("a", 2));
        clock.set(T0 + 4500);
        const [c] = await write(set("b", 1));
        clock.set(T0 + 6000);
        const [d] = await write(set("b", 2));
        expect([a, b, c, d].map((r) => r!.time)).toEqual([T0 + 5000, T0 + 5000, T0 + 5000, T0 + 6000]);
        // Nothing is written "at" the times the clock claimed.
        expect(await store.revisionAt(T0 + 4999)).toBe(0);
        expect(await store.revisionAt(T0 + 5000)).toBe(3);
      });

      it("never lets time decrease across a reopen", async () => {
        clock.set(T0 + 9000);
        await write(set("a", 1));
        clock.set(T0 + 1000);
        await reopen();
        const [r] = await write(set("a", 2));
        expect(r!.time).toBe(T0 + 9000);
      });
    });

    describe("onCommit and visibility", () => {
      it("calls listeners in order with exactly the committed records", async () => {
        const calls: LogRecord[][] = [];
        store.onCommit((rs) => calls.push([...rs]));
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => write(set(`k${i % 4}`, i), ...(i % 5 === 0 ? [del(`k${i % 4}`)] : []))));
        const committed = results.flat();
        expect(calls.length).toBeGreaterThan(0);
        for (const c of calls) expect(c.length).toBeGreaterThan(0);
        expect(calls.flat()).toEqual(committed);
        expect(revs(calls.flat())).toEqual(range1(1, committed.length));
      });

      it("calls every listener, and stops calling one that unsubscribed", async () => {
        const a: number[] = [];
        const b: number[] = [];
        const offA = store.onCommit((rs) => a.push(...revs(rs)));
        store.onCommit((rs) => b.push(...revs(rs)));
        await write(set("x", 1));
        offA();
        await write(set("x", 2));
        expect(a).toEqual([1]);
        expect(b).toEqual([1, 2]);
      });

      it("makes records visible no later than the listener call, and the listener runs before the commit resolves", async () => {
        const order: string[] = [];
        const problems: string[] = [];
        store.onCommit((rs) => {
          order.push(`listener ${revs(rs).join(",")}`);
          const last = rs[rs.length - 1]!;
          if (store.headRevision < last.revision) problems.push(`head ${store.headRevision} < ${last.revision}`);
          for (const r of rs) {
            const l = store.latest(r.key);
            if (l === undefined || l.revision < r.revision) problems.push(`latest(${r.key}) behind ${r.revision}`);
          }
        });
        await write(set("a", 1)).then((rs) => order.push(`resolved ${revs(rs).join(",")}`));
        expect(order).toEqual(["listener 1", "resolved 1"]);
        expect(problems).toEqual([]);
      });

      it("does not show a record to readers before its commit resolves", async () => {
        await write(set("a", 1));
        const p = write(set("a", 2), set("new", 1));
        // Synchronously after commit() returns, nothing of it is visible.
        expect(store.headRevision).toBe(1);
        expect(store.latest("a")).toMatchObject({ version: 1, value: 1 });
        expect(store.latest("new")).toBeUndefined();
        expect(store.latestUnder("").map((r) => r.key)).toEqual(["a"]);
        const [a2, n1] = await p;
        // Once it resolves, every reader sees it.
        expect(store.headRevision).toBe(3);
        expect(store.latest("a")).toEqual(a2);
        expect(store.latest("new")).toEqual(n1);
        expect(await store.at("a", 3)).toEqual(a2);
        expect(await store.version("new", 1)).toEqual(n1);
        expect(await store.history("a", 1)).toEqual([a2]);
        expect(await store.range(2, 3, 10)).toEqual([a2, n1]);
        expect(await store.revisionAt(T0)).toBe(3);
      });
    });

    describe("latest and latestUnder", () => {
      it("return the newest record of each key, tombstones included, sorted by key", async () => {
        for (const k of ["b", "a/2", "a/10", "a", "ab", "c", "a.b", "A"]) await write(set(k, k));
        await write(set("a/2", "again"), del("c"));
        expect(store.latest("a/2")).toMatchObject({ version: 2, value: "again" });
        expect(store.latest("c")).toMatchObject({ version: 2, deleted: true });
        expect(store.latest("zzz")).toBeUndefined();
        const under = (p: string): string[] => store.latestUnder(p).map((r) => r.key);
        expect(under("")).toEqual(["A", "a", "a.b", "a/10", "a/2", "ab", "b", "c"]);
        expect(under("a")).toEqual(["a", "a.b", "a/10", "a/2", "ab"]);
        expect(under("a/")).toEqual(["a/10", "a/2"]);
        expect(under("c")).toEqual(["c"]);
        expect(under("zzz")).toEqual([]);
        for (const r of store.latestUnder("")) expect(r).toEqual(store.latest(r.key));
      });
    });

    describe("reading the past", () => {
      /**
       * rev: 1 other=1 | 2 k=v1 | 3 k.x=1 | 4 k deleted (v2) | 5 k/y=1 | 6 k=v3 | 7 other=2
       * "k.x" and "k/y" sort right after "k" and must never leak into its answers.
       */
      async function seed(): Promise<LogRecord[]> {
        const out: LogRecord[] = [];
        for (const d of [set("other", 1), set("k", "v1"), set("k.x", 1), del("k"), set("k/y", 1), set("k", "v3"), set("other", 2)]) {
          out.push(...(await write(d)));
          clock.advance(10);
        }
        return out;
      }

      it("at(key, rev): the record current at rev, tombstones included", async () => {
        const r = await seed();
        expect(await store.at("k", 0)).toBeUndefined();
        expect(await store.at("k", 1)).toBeUndefined();
        expect(await store.at("k", 2)).toEqual(r[1]);
        expect(await store.at("k", 3)).toEqual(r[1]);
        expect(await store.at("k", 4)).toEqual(r[3]);
        expect((await store.at("k", 5))?.deleted).toBe(true);
        expect(await store.at("k", 6)).toEqual(r[5]);
        expect(await store.at("k", 7)).toEqual(r[5]);
        expect(await store.at("k", 1000)).toEqual(r[5]);
        expect(await store.at("k.x", 2)).toBeUndefined();
        expect(await store.at("k.x", 7)).toEqual(r[2]);
        expect(await store.at("k/y", 4)).toBeUndefined();
        expect(await store.at("missing", 7)).toBeUndefined();
        expect(await store.at("other", 6)).toEqual(r[0]);
      });

      it("version(key, n): a key's record by version", async () => {
        const r = await seed();
        expect(await store.version("k", 1)).toEqual(r[1]);
        expect(await store.version("k", 2)).toEqual(r[3]);
        expect(await store.version("k", 3)).toEqual(r[5]);
        expect(await store.version("k", 4)).toBeUndefined();
        expect(await store.version("k", 0)).toBeUndefined();
        expect(await store.version("k.x", 2)).toBeUndefined();
        expect(await store.version("missing", 1)).toBeUndefined();
      });

      it("history: newest first, limited, strictly below beforeRevision", async () => {
        const r = await seed();
        const k = [r[5], r[3], r[1]];
        expect(await store.history("k", 10)).toEqual(k);
        expect(await store.history("k", 2)).toEqual(k.slice(0, 2));
        expect(await store.history("k", 1)).toEqual(k.slice(0, 1));
        expect(await store.history("k", 10, 6)).toEqual([r[3], r[1]]);
        expect(await store.history("k", 10, 5)).toEqual([r[3], r[1]]);
        expect(await store.history("k", 1, 4)).toEqual([r[1]]);
        expect(await store.history("k", 10, 2)).toEqual([]);
        expect(await store.history("k", 10, 1)).toEqual([]);
        expect(await store.history("k", 10, 1000)).toEqual(k);
        expect(await store.history("k.x", 10)).toEqual([r[2]]);
        expect(await store.history("missing", 10)).toEqual([]);
      });

      it("history pages through a long history exactly once", async () => {
        for (let i = 0; i < 57; i++) await write(set("k", i), set(`noise${i % 3}`, i));
        const seen: LogRecord[] = [];
        let before: number | undefined;
        for (let pages = 0; ; pages++) {
          expect(pages, "paging must end").toBeLessThan(10);
          const page = await store.history("k", 10, before);
          if (page.length === 0) break;
          seen.push(...page);
          before = page[page.length - 1]!.revision;
        }
        expect(seen.map((r) => r.version)).toEqual(range1(1, 57).reverse());
        expect(seen.every((r) => r.key === "k")).toBe(true);
      });

      it("revisionAt(time): the last revision at or before time", async () => {
        clock.set(T0 + 1000);
        await write(set("a", 1)); // 1
        await write(set("b", 1)); // 2, same timestamp
        clock.set(T0 + 2000);
        await write(set("a", 2), set("b", 2)); // 3, 4
        clock.set(T0 + 3000);
        await write(set("c", 1)); // 5
        expect(await store.revisionAt(T0)).toBe(0);
        expect(await store.revisionAt(T0 + 999)).toBe(0);
        expect(await store.revisionAt(0)).toBe(0);
        expect(await store.revisionAt(-1)).toBe(0);
        expect(await store.revisionAt(T0 + 1000)).toBe(2);
        expect(await store.revisionAt(T0 + 1000.5)).toBe(2);
        expect(await store.revisionAt(T0 + 1999)).toBe(2);
        expect(await store.revisionAt(T0 + 2000)).toBe(4);
        expect(await store.revisionAt(T0 + 2999.999)).toBe(4);
        expect(await store.revisionAt(T0 + 3000)).toBe(5);
        expect(await store.revisionAt(T0 + 10 ** 9)).toBe(5);
      });

      it("range(from, to, limit): oldest first, clamped to the head", async () => {
        const r = await seed();
        expect(await store.range(1, 7, 100)).toEqual(r);
        expect(await store.range(3, 5, 100)).toEqual(r.slice(2, 5));
        expect(await store.range(3, 7, 2)).toEqual(r.slice(2, 4));
        expect(await store.range(0, 3, 100)).toEqual(r.slice(0, 3));
        expect(await store.range(5, 1000, 100)).toEqual(r.slice(4));
        expect(await store.range(4, 4, 100)).toEqual([r[3]]);
        expect(await store.range(5, 4, 100)).toEqual([]);
        expect(await store.range(8, 20, 100)).toEqual([]);
      });

      it("range(from, to, limit, key): only that key", async () => {
        const r = await seed();
        expect(await store.range(1, 7, 100, "k")).toEqual([r[1], r[3], r[5]]);
        expect(await store.range(3, 7, 100, "k")).toEqual([r[3], r[5]]);
        expect(await store.range(1, 7, 2, "k")).toEqual([r[1], r[3]]);
        expect(await store.range(1, 4, 100, "k")).toEqual([r[1], r[3]]);
        expect(await store.range(5, 5, 100, "k")).toEqual([]);
        expect(await store.range(1, 1000, 100, "other")).toEqual([r[0], r[6]]);
        expect(await store.range(1, 7, 100, "k.x")).toEqual([r[2]]);
        expect(await store.range(1, 7, 100, "missing")).toEqual([]);
        expect(await store.range(7, 1, 100, "k")).toEqual([]);
      });
    });

    describe("reopen", () => {
      it("keeps everything and reads one log record per key, not per record", async () => {
        const values = (i: number): JsonValue =>
          [i, `s${i}`, { n: i, list: [i, null, true], nested: { "ключ": "значение", f: i / 8 } }, null, false][i % 5]!;
        for (let round = 0; round < 10; round++) {
          clock.advance(1000);
          await Promise.all(Array.from({ length: 50 }, (_, j) => write(set(`key${j % 10}`, values(round * 50 + j)))));
        }
        await write(del("key3"));
        expect(store.headRevision).toBe(501);
        const keys = store.latestUnder("").map((r) => r.key);
        expect(keys).toHaveLength(10);
        const before = {
          latest: store.latestUnder(""),
          all: await store.range(1, 501, 10_000),
          histories: await Promise.all(keys.map((k) => store.history(k, 1000))),
          at: await Promise.all(keys.map((k) => store.at(k, 250))),
          times: await Promise.all(range1(1, 11).map((i) => store.revisionAt(T0 + i * 1000))),
        };

        const old = store;
        await reopen();
        expect(old.healthy).toBe(false);
        expect(store.healthy).toBe(true);
        expect(store.stats.openLogReads).toBe(10);
        expect(store.stats.batches).toBe(0);
        expect(store.stats.records).toBe(0);
        expect(store.headRevision).toBe(501);
        expect(store.latestUnder("")).toEqual(before.latest);
        expect(store.latest("key3")).toMatchObject({ deleted: true, version: 51 });
        expect(await store.range(1, 501, 10_000)).toEqual(before.all);
        expect(await Promise.all(keys.map((k) => store.history(k, 1000)))).toEqual(before.histories);
        expect(await Promise.all(keys.map((k) => store.at(k, 250)))).toEqual(before.at);
        expect(await Promise.all(range1(1, 11).map((i) => store.revisionAt(T0 + i * 1000)))).toEqual(before.times);

        // Writing goes on where it stopped.
        const [r] = await write(set("key3", "back"));
        expect(r).toMatchObject({ revision: 502, version: 52 });
        const [n] = await write(set("fresh", 1));
        expect(n).toMatchObject({ revision: 503, version: 1 });
      });

      it("keeps tombstones and optional fields exactly", async () => {
        const [a] = await write(set("a", { x: 1 }, { kind: "rollback", rolledBackTo: 7, cause: "health" }));
        const [b] = await write(del("a"));
        await reopen();
        expect(await store.version("a", 1)).toEqual(a);
        expect(store.latest("a")).toEqual(b);
        expect(Object.hasOwn(store.latest("a")!, "value")).toBe(false);
      });

      it("on an empty store stays empty", async () => {
        await reopen();
        expect(store.headRevision).toBe(0);
        expect(store.stats.openLogReads).toBe(0);
        expect(revs(await write(set("a", 1)))).toEqual([1]);
      });

      it("lets commits in flight finish: every commit that resolves is durable", async () => {
        const pending = Array.from({ length: 100 }, (_, i) => write(set(`k${i % 5}`, i)));
        await reopen();
        const results = await Promise.all(pending);
        expect(revs(results.flat())).toEqual(range1(1, 100));
        expect(store.headRevision).toBe(100);
        expect(store.stats.openLogReads).toBe(5);
        expect(await store.range(1, 100, 1000)).toEqual(results.flat());
      });

      it("a closed store is unhealthy and refuses commits", async () => {
        const old = store;
        await reopen();
        expect(old.healthy).toBe(false);
        await expect(old.commit(() => [set("a", 1)])).rejects.toThrow();
        expect(store.headRevision).toBe(0);
      });
    });
  });
}
