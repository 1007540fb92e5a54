/**
 * Compaction as part of the LogStore contract: every store that implements compact() runs
 * these beside describeLogStore, with the same factory.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, LogRecord } from "@ctm/core/record";
import type { CompactionOutcome, CompactionPlan, Disposition } from "./compaction.js";
import type { LogStore } from "./log-store.js";
import { T0, type LogStoreFactory, type LogStoreFixture } from "./log-store.conformance.js";

const set = (key: string, value: JsonValue): Draft => ({ key, value, deleted: false, author: `author of ${JSON.stringify(value)}`, message: `why ${JSON.stringify(value)}`, kind: "set", cause: "api" });
const del = (key: string): Draft => ({ key, deleted: true, author: "tester", message: "gone", kind: "delete", cause: "api" });
const view = (rs: readonly LogRecord[]): string[] => rs.map((r) => `${r.key}@${r.version}${r.valueCompacted ? " (value compacted)" : ""}`);

/** A plan that disposes of every record offered the same way and reports under `_ctm/compactions`. */
export const planAll = (horizon: number, what: Disposition, seen: [LogRecord, number][] = []): CompactionPlan => ({
  horizon,
  dispose: (r, at) => {
    seen.push([r, at]);
    return what;
  },
  report: (o: CompactionOutcome) => ({
    key: "_ctm/compactions",
    value: { horizon: o.horizon, previous_horizon: o.previousHorizon, removed: o.removed, stripped: o.stripped },
    deleted: false,
    author: "tester",
    message: `compacted below revision ${o.horizon}`,
    kind: "set",
    cause: "compaction",
  }),
});

export function describeCompaction(name: string, factory: LogStoreFactory): void {
  describe(`LogStore compaction: ${name}`, () => {
    let fx: LogStoreFixture;
    let store: LogStore;
    let clock: ManualClock;
    const write = (...drafts: Draft[]): Promise<LogRecord[]> => {
      clock.advance(1000);
      return store.commit(() => drafts);
    };

    beforeEach(async () => {
      clock = new ManualClock(T0);
      fx = await factory(clock);
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    /** a: versions 1..5 at revisions 1..5; b: 1 at 6; a: 6 at 7; c: 1 at 8, deleted at 9. */
    const history = async (): Promise<void> => {
      for (let v = 1; v <= 5; v++) await write(set("k/a", v));
      await write(set("k/b", 1));
      await write(set("k/a", 6));
      await write(set("k/c", 1));
      await write(del("k/c"));
    };

    it("removes only what no read at or after the horizon needs, raises the horizon, and reports in the same batch", async () => {
      await history();
      const offered: [LogRecord, number][] = [];
      const outcome = await store.compact(planAll(5, "remove", offered));
      // a@1..a@4 end at or before revision 5; a@5 is a's record at revisions 5 and 6; b, c's
      // tombstone and c@1 (superseded at 9, above the horizon) stay.
      expect(offered.map(([r, at]) => `${r.key}@${r.version}→${at}`)).toEqual(["k/a@1→2", "k/a@2→3", "k/a@3→4", "k/a@4→5"]);
      expect(outcome).toMatchObject({ horizon: 5, previousHorizon: 1, removed: 4, stripped: 0 });
      expect(store.firstRevision).toBe(5);
      expect(store.firstTime).toBe(T0 + 5000);
      const report = store.latest("_ctm/compactions")!;
      expect(report.revision).toBe(10);
      expect(report.value).toMatchObject({ horizon: 5, removed: 4 });
      expect(view(await store.history("k/a", 100))).toEqual(["k/a@6", "k/a@5"]);
      expect(await store.version("k/a", 2)).toBeUndefined();
      for (const rev of [5, 6, 7, 8, 9]) {
        const page = await store.pageAt("k/", rev, 100);
        const expected = { 5: ["k/a@5"], 6: ["k/a@5", "k/b@1"], 7: ["k/a@6", "k/b@1"], 8: ["k/a@6", "k/b@1", "k/c@1"], 9: ["k/a@6", "k/b@1", "k/c@2"] }[rev];
        expect(view(page.records)).toEqual(expected);
      }
      expect((await store.at("k/a", 6))!.value).toBe(5);
      expect(view(await store.range(5, 10, 100))).toEqual(["k/a@5", "k/b@1", "k/a@6", "k/c@1", "k/c@2", "_ctm/compactions@1"]);
    });

    it("a tight plan publishes the lowest horizon that covers what left, and one that lets nothing go changes nothing", async () => {
      await history();
      const head = store.headRevision;
      const plan = { ...planAll(head, "keep"), tight: true, dispose: (r: LogRecord) => (r.key === "k/a" && r.version <= 2 ? ("remove" as const) : ("keep" as const)) };
      expect(await store.compact(plan)).toMatchObject({ horizon: 3, removed: 2 });
      expect(store.firstRevision).toBe(3);
      expect(view(await store.history("k/a", 100))).toEqual(["k/a@6", "k/a@5", "k/a@4", "k/a@3"]);
      const nothing = await store.compact({ ...planAll(store.headRevision, "keep"), tight: true });
      expect(nothing).toEqual({ horizon: 3, previousHorizon: 3, removed: 0, stripped: 0 });
      expect(await store.history("_ctm/compactions", 10)).toHaveLength(1);
    });

    it("refuses reads below the horizon with OUT_OF_RANGE naming it", async () => {
      await history();
      await store.compact(planAll(5, "remove"));
      const refused = { code: "out_of_range", details: { oldest: 5 } };
      await expect(store.at("k/a", 3)).rejects.toMatchObject(refused);
      await expect(store.pageAt("k/", 4, 100)).rejects.toMatchObject(refused);
      await expect(store.range(2, 9, 100)).rejects.toMatchObject(refused);
    });

    it("strips values past the value horizon, keeping who, when, why and kind", async () => {
      await history();
      const before = await store.history("k/a", 100);
      const outcome = await store.compact(planAll(5, "strip"));
      expect(outcome).toMatchObject({ removed: 0, stripped: 4 });
      const after = await store.history("k/a", 100);
      expect(view(after)).toEqual(["k/a@6", "k/a@5", "k/a@4 (value compacted)", "k/a@3 (value compacted)", "k/a@2 (value compacted)", "k/a@1 (value compacted)"]);
      for (let i = 2; i < after.length; i++) {
        const { value: _v, ...audit } = before[i]!;
        expect(after[i]).toEqual({ ...audit, valueCompacted: true });
      }
      // Stripped once: a second compaction to the same horizon offers them again and changes nothing.
      expect(await store.compact(planAll(5, "strip"))).toMatchObject({ removed: 0, stripped: 0 });
      // Past the audit horizon they go.
      expect(await store.compact(planAll(5, "remove"))).toMatchObject({ removed: 4, stripped: 0 });
      expect(view(await store.history("k/a", 100))).toEqual(["k/a@6", "k/a@5"]);
    });

    it("keeps what the plan keeps and still raises the horizon; never moves it back or past the head", async () => {
      await history();
      expect(await store.compact(planAll(3, "keep"))).toMatchObject({ horizon: 3, removed: 0, stripped: 0 });
      expect(store.firstRevision).toBe(3);
      expect(view(await store.history("k/a", 100))).toHaveLength(6);
      await expect(store.compact(planAll(2, "remove"))).rejects.toMatchObject({ code: "failed_precondition" });
      await expect(store.compact(planAll(store.headRevision + 1, "remove"))).rejects.toMatchObject({ code: "out_of_range" });
      await expect(store.compact(planAll(0, "remove"))).rejects.toMatchObject({ code: "invalid_argument", field: "horizon" });
    });

    it("keeps its horizon and what is left across a restart, and a full check passes", async () => {
      await history();
      await store.compact(planAll(5, "strip"));
      await write(set("k/a", 7));
      await store.compact(planAll(8, "remove"));
      const before = { a: await store.history("k/a", 100), page: await store.pageAt("k/", 9, 100) };
      store = await fx.reopen();
      expect(store.firstRevision).toBe(8);
      expect(await store.history("k/a", 100)).toEqual(before.a);
      expect(await store.pageAt("k/", 9, 100)).toEqual(before.page);
      const report = await store.verify();
      expect(report).toMatchObject({ ok: true, scope: "full" });
      expect(view(await store.history("_ctm/compactions", 10))).toEqual(["_ctm/compactions@2", "_ctm/compactions@1"]);
      // Writing goes on from the head, on the same chain.
      await write(set("k/d", 1));
      expect((await store.verify()).ok).toBe(true);
    });
  });
}
