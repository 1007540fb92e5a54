import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { RecordKind } from "../src/gen/ctm/v1/record.js";
import { AttributeOperator, Reason, type RolloutPlan } from "../src/gen/ctm/v1/rollout.js";
import { PromoteTarget } from "../src/gen/ctm/v1/rollout_service.js";
import { api, connect, headRevision, rejects, rolloutApi } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";
import { WatchStream } from "./helpers/watch-stream.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup(args: string[] = []) {
  const daemon = await Daemon.start({ args });
  const client = connect(daemon.address);
  const r = rolloutApi(daemon.address);
  cleanups.push(() => daemon.dispose(), () => client.close(), () => r.client.close());
  return { daemon, client, c: api(client), r };
}

const plan = (p: Partial<RolloutPlan>): RolloutPlan =>
  ({ salt: "", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...p }) as RolloutPlan;
const minutes = (m: number) => ({ seconds: m * 60, nanos: 0 });
const units = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);

describe("rollouts through the real daemon", () => {
  it("Get resolves per unit: early adopters, rules, the canary percentage, and the stable value for the rest", async () => {
    const { c } = await setup();
    await c.set({ key: "checkout.v2", value: false });
    await c.set({
      key: "checkout.v2",
      value: true,
      author: "ana",
      rollout: plan({
        earlyAdopters: ["alice"],
        rules: [
          { rule: { $case: "unitIdRegex", value: "^staff-[0-9]+$" } },
          { rule: { $case: "attribute", value: { attribute: "app_version", operator: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GTE, values: ["3.0.0"] } } },
        ],
        percentage: { $case: "steps", value: { start: 20, increment: 20, interval: minutes(60), target: 100 } },
      }),
    });
    const get = (unitId: string, attributes: Record<string, string> = {}) =>
      c.get({ key: "checkout.v2", context: { unitId, environment: "", attributes, requestId: "" } });

    expect(await get("alice")).toMatchObject({ value: true, variant: "new", reason: Reason.REASON_EARLY_ADOPTER });
    expect(await get("staff-12")).toMatchObject({ value: true, reason: Reason.REASON_RULE_MATCH });
    expect(await get("someone", { app_version: "3.1.0" })).toMatchObject({ value: true, reason: Reason.REASON_RULE_MATCH });
    let inside = 0;
    for (const u of units(1000)) {
      const g = await get(u);
      if (g.reason === Reason.REASON_IN_ROLLOUT) {
        expect(g.value).toBe(true);
        inside++;
      } else {
        expect(g).toMatchObject({ value: false, variant: "stable", reason: Reason.REASON_OUT_OF_ROLLOUT });
      }
    }
    // 20% of 1000 units; the exact split is pinned by the bucketing vectors, here only the order of size.
    expect(inside).toBeGreaterThan(150);
    expect(inside).toBeLessThan(250);
    // Sticky: the same unit gets the same answer again.
    expect((await get("user-7")).reason).toBe((await get("user-7")).reason);
  });

  it("RolloutService controls are records with author and cause, and the kill switch is immediate", async () => {
    const { c, r } = await setup();
    await c.set({ key: "search.ranker", value: "v1" });
    await c.set({
      key: "search.ranker",
      value: "v2",
      rollout: plan({ percentage: { $case: "steps", value: { start: 10, increment: 30, interval: minutes(10), target: 100 } } }),
    });
    const s0 = await r.status({ key: "search.ranker" });
    expect(s0).toMatchObject({ active: true, percentage: 10, paused: false, killed: false });
    expect(s0.nextMilestone).toMatchObject({ index: 1, percentage: 40, reached: false });
    expect(s0.nextMilestone!.dueTime!.getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);

    const paused = await r.pause({ key: "search.ranker", author: "oncall", message: "looking at errors" });
    expect(paused.entry).toMatchObject({ kind: RecordKind.RECORD_KIND_ROLLOUT_PAUSED, author: "oncall", cause: "api", message: "looking at errors" });
    expect((await r.status({ key: "search.ranker" })).paused).toBe(true);
    expect((await rejects(r.pause({ key: "search.ranker" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
    await r.resume({ key: "search.ranker", author: "oncall" });

    const promoted = await r.promote({ key: "search.ranker", target: PromoteTarget.PROMOTE_TARGET_NEXT, author: "lead" });
    expect(promoted.entry!.kind).toBe(RecordKind.RECORD_KIND_ROLLOUT_PROMOTED);
    expect((await r.status({ key: "search.ranker" })).percentage).toBe(40);

    await r.kill({ key: "search.ranker", author: "oncall", message: "kill" });
    for (const u of units(50)) {
      expect(await c.get({ key: "search.ranker", context: { unitId: u, environment: "", attributes: {}, requestId: "" } })).toMatchObject({
        value: "v1",
        reason: Reason.REASON_ROLLED_BACK,
      });
    }
    const explained = await r.explain({ key: "search.ranker", context: { unitId: "user-1", environment: "", attributes: {}, requestId: "" } });
    expect(explained.trace.join("\n")).toMatch(/kill switch/);

    const aborted = await r.abort({ key: "search.ranker", author: "oncall" });
    expect(aborted.entry).toMatchObject({ value: "v1", kind: RecordKind.RECORD_KIND_ROLLOUT_ABORTED });
    expect(aborted.entry!.rollout).toBeUndefined();
    const h = await c.history({ key: "search.ranker", limit: 20 });
    expect(h.entries.map((e) => [e.kind, e.author])).toEqual([
      [RecordKind.RECORD_KIND_ROLLOUT_ABORTED, "oncall"],
      [RecordKind.RECORD_KIND_ROLLOUT_KILLED, "oncall"],
      [RecordKind.RECORD_KIND_ROLLOUT_PROMOTED, "lead"],
      [RecordKind.RECORD_KIND_ROLLOUT_RESUMED, "oncall"],
      [RecordKind.RECORD_KIND_ROLLOUT_PAUSED, "oncall"],
      [RecordKind.RECORD_KIND_SET, "anonymous"],
      [RecordKind.RECORD_KIND_SET, "anonymous"],
    ]);
    expect((await rejects(r.pause({ key: "search.ranker" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("rings gate by environment; variants are sticky and explain names the bucket", async () => {
    const { c, r } = await setup();
    await c.set({
      key: "layout",
      value: "grid",
      rollout: plan({
        stable: "list",
        rings: { order: ["dev", "staging", "prod"], interval: undefined },
        variants: [
          { name: "grid", weight: 1, value: "grid" },
          { name: "cards", weight: 1, value: "cards" },
        ],
      }),
    });
    const get = (unitId: string, environment: string) => c.get({ key: "layout", context: { unitId, environment, attributes: {}, requestId: "" } });
    expect(await get("u1", "prod")).toMatchObject({ value: "list", reason: Reason.REASON_RING_NOT_REACHED });
    const dev = await get("u1", "dev");
    expect(dev.reason).toBe(Reason.REASON_VARIANT);
    expect(["grid", "cards"]).toContain(dev.variant);
    expect((await get("u1", "dev")).variant).toBe(dev.variant);
    await r.promote({ key: "layout" });
    expect((await get("u1", "staging")).reason).toBe(Reason.REASON_VARIANT);
    expect((await get("u1", "prod")).reason).toBe(Reason.REASON_RING_NOT_REACHED);
    const e = await r.explain({ key: "layout", context: { unitId: "u1", environment: "dev", attributes: {}, requestId: "" } });
    expect(e.variant).toBe(dev.variant);
    expect(e.bucket).toBeLessThan(100_000);
    expect(e.ring).toBe("staging");
  });

  it("the scheduler writes milestones that watchers see, and catches up after downtime exactly once", async () => {
    const { daemon, client, c } = await setup(["--scheduler-interval-ms", "100"]);
    await c.set({ key: "fast", value: "old" });
    const w = new WatchStream(client, { key: "fast" });
    cleanups.push(() => w.cancel());
    await w.until(() => w.responses.length >= 1);
    await c.set({
      key: "fast",
      value: "new",
      rollout: plan({ percentage: { $case: "steps", value: { start: 50, increment: 50, interval: { seconds: 1, nanos: 0 }, target: 100 } } }),
    });
    // Step 1 of 1 (100%) and finalization fall due after one second.
    await w.until(() => w.events.some((e) => e.kind === RecordKind.RECORD_KIND_ROLLOUT_FINALIZED));
    const kinds = w.events.map((e) => [e.kind, e.cause]);
    expect(kinds).toEqual([
      [RecordKind.RECORD_KIND_SET, "api"],
      [RecordKind.RECORD_KIND_ROLLOUT_MILESTONE, "scheduler"],
      [RecordKind.RECORD_KIND_ROLLOUT_FINALIZED, "scheduler"],
    ]);
    expect((await c.get({ key: "fast" })).reason).toBe(Reason.REASON_STATIC);

    // Downtime: the daemon is stopped before two steps fall due, then restarted.
    await c.set({
      key: "slow",
      value: 2,
      rollout: plan({ stable: 1, percentage: { $case: "steps", value: { start: 10, increment: 45, interval: { seconds: 1, nanos: 0 }, target: 100 } } }),
    });
    await daemon.stop();
    await new Promise((res) => setTimeout(res, 2500));
    await daemon.launch();
    const c2client = connect(daemon.address);
    cleanups.push(() => c2client.close());
    const c2 = api(c2client);
    let h = await c2.history({ key: "slow", limit: 10 });
    for (let i = 0; i < 50 && h.entries[0]!.kind !== RecordKind.RECORD_KIND_ROLLOUT_FINALIZED; i++) {
      await new Promise((res) => setTimeout(res, 100));
      h = await c2.history({ key: "slow", limit: 10 });
    }
    const before = await headRevision(c2client);
    await new Promise((res) => setTimeout(res, 500));
    expect(await headRevision(c2client)).toBe(before);
    expect(h.entries.map((e) => [e.kind, e.message])).toEqual([
      [RecordKind.RECORD_KIND_ROLLOUT_FINALIZED, "finalized: new value for everyone"],
      [RecordKind.RECORD_KIND_ROLLOUT_MILESTONE, "step 2 of 2: 100%"],
      [RecordKind.RECORD_KIND_ROLLOUT_MILESTONE, "step 1 of 2: 55%"],
      [RecordKind.RECORD_KIND_SET, ""],
    ]);
  });

  it("GetAt with a context answers what that unit was served then", async () => {
    const { c } = await setup();
    await c.set({ key: "ramp", value: 0 });
    await c.set({
      key: "ramp",
      value: 1,
      rollout: plan({ percentage: { $case: "ramp", value: { from: 0, to: 100, startTime: undefined, endTime: undefined, duration: { seconds: 2, nanos: 0 } } } }),
    });
    const served: { t: Date; unit: string; value: unknown; reason: Reason }[] = [];
    for (let round = 0; round < 4; round++) {
      for (const unit of units(40)) {
        const before = new Date();
        const g = await c.get({ key: "ramp", context: { unitId: unit, environment: "", attributes: {}, requestId: "" } });
        served.push({ t: before, unit, value: g.value, reason: g.reason });
      }
      await new Promise((res) => setTimeout(res, 400));
    }
    // A unit's answer can only change by the ramp moving; time travel to just before each Get
    // must give an answer at least as conservative, and at the exact served time the same one.
    let changed = 0;
    for (const s of served) {
      const at = await c.getAt({ key: "ramp", at: { $case: "time", value: s.t }, context: { unitId: s.unit, environment: "", attributes: {}, requestId: "" } });
      if (at.value !== s.value) changed++;
      if (s.value === 0) expect(at.value).toBe(0);
    }
    // The Get happened at most a few ms after `t`; only units crossing the ramp in that gap may differ.
    expect(changed).toBeLessThanOrEqual(3);
    expect(served.filter((s) => s.value === 1).length).toBeGreaterThan(0);
    expect(served.filter((s) => s.value === 0).length).toBeGreaterThan(0);
  });

  it("bad plans are INVALID_ARGUMENT naming the field, and write nothing", async () => {
    const { client, c, r } = await setup();
    await c.set({ key: "k", value: 1 });
    const before = await headRevision(client);
    const bad: [Partial<RolloutPlan>, RegExp][] = [
      [{ rules: [{ rule: { $case: "unitIdRegex", value: "(a+)\\1" } }] }, /^rollout\.rules\[0\]\.unit_id_regex: is not a linear-time \(RE2\) regex/],
      [{ rules: [{ rule: { $case: "unitIdRegex", value: "(?=admin)" } }] }, /^rollout\.rules\[0\]\.unit_id_regex: /],
      [{ percentage: { $case: "steps", value: { start: 10, increment: -5, interval: minutes(5), target: 100 } } }, /^rollout\.steps\.increment: must move from start toward target/],
      [{ percentage: { $case: "steps", value: { start: 10, increment: 5, interval: undefined, target: 100 } } }, /^rollout\.steps\.interval: must be positive/],
      [{ percentage: { $case: "ramp", value: { from: 0, to: 150, startTime: undefined, endTime: undefined, duration: minutes(5) } } }, /^rollout\.ramp\.to: must be a percentage/],
      [{ variants: [{ name: "a", weight: 1, value: 1 }, { name: "a", weight: 1, value: 2 }] }, /^rollout\.variants\[1\]\.name: "a" is used twice/],
      [{ pinned: [{ unitId: "u", serve: "ghost" }] }, /^rollout\.pinned\[0\]\.serve: must be "stable", "new" or a variant name/],
      [{ interpolate: true, stable: "text" }, /^rollout\.interpolate: needs a number/],
    ];
    for (const [p, message] of bad) {
      const err = await rejects(c.set({ key: "k", value: 2, rollout: plan(p) }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    }
    const fresh = await rejects(c.set({ key: "new-key", value: 2, rollout: plan({}) }));
    expect(fresh.details).toMatch(/^rollout\.stable: is required when the key has no current value/);
    expect((await rejects(r.kill({ key: "k" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await rejects(r.status({ key: "missing" }))).code).toBe(grpc.status.NOT_FOUND);
    expect(await headRevision(client)).toBe(before);
  });
  it("a start in the past is refused naming the field, unless allow_past_start; then every milestone due is written at once", async () => {
    const { client, c } = await setup(["--scheduler-interval-ms", "100"]);
    await c.set({ key: "search.ranker", value: "v1" });
    const before = await headRevision(client);
    // The README's plan, activated nine days ago: a 72-hour ramp over three daily rings.
    const readme = plan({
      stable: "v1",
      percentage: { $case: "ramp", value: { from: 0, to: 100, startTime: undefined, endTime: undefined, duration: { seconds: 259_200, nanos: 0 } } },
      rings: { order: ["dev", "staging", "prod"], interval: { seconds: 86_400, nanos: 0 } },
      activateAt: new Date(Date.now() - 9 * 86_400_000),
    });
    const err = await rejects(c.set({ key: "search.ranker", value: "v2", rollout: readme }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get("ctm-field")).toEqual(["rollout.activate_at"]);
    expect(err.details).toMatch(/9 days in the past: 5 milestones would fire at once \(activated; ring staging reached; ring prod reached; ramp complete at 100%; finalized/);
    const inApply = await rejects(c.apply({ operations: [{ operation: { $case: "set", value: { key: "search.ranker", value: "v2", rollout: readme } } }] }));
    expect(inApply.metadata.get("ctm-field")).toEqual(["operations[0].set.rollout.activate_at"]);
    expect(await headRevision(client)).toBe(before);

    const set = await c.set({ key: "search.ranker", value: "v2", rollout: { ...readme, allowPastStart: true } });
    // Read when written, never stored: the stored plan does not carry it.
    expect(set.entry!.rollout!.plan!.allowPastStart).toBe(false);
    let h = await c.history({ key: "search.ranker", limit: 10 });
    for (let i = 0; i < 50 && h.entries[0]!.kind !== RecordKind.RECORD_KIND_ROLLOUT_FINALIZED; i++) {
      await new Promise((res) => setTimeout(res, 100));
      h = await c.history({ key: "search.ranker", limit: 10 });
    }
    expect(h.entries.slice(0, 6).map((e) => e.message).reverse()).toEqual([
      "",
      "activated",
      "ring staging reached",
      "ring prod reached",
      "ramp complete at 100%",
      "finalized: new value for everyone",
    ]);
  });

  it("Apply writes rollouts atomically and names the operation of a bad plan", async () => {
    const { client, c } = await setup();
    await c.set({ key: "feat/a", value: "old-a" });
    const ok = await c.apply({
      operations: [
        { operation: { $case: "set", value: { key: "feat/a", value: "new-a", rollout: plan({ earlyAdopters: ["bob"], percentage: { $case: "steps", value: { start: 0, increment: 50, interval: minutes(60), target: 100 } } }) } } },
        { operation: { $case: "set", value: { key: "feat/b", value: 7 } } },
      ],
      author: "importer",
    });
    expect(ok.entries.map((e) => [e.key, e.rollout !== undefined])).toEqual([["feat/a", true], ["feat/b", false]]);
    const bob = await c.get({ key: "feat/a", context: { unitId: "bob", environment: "", attributes: {}, requestId: "" } });
    expect(bob).toMatchObject({ value: "new-a", reason: Reason.REASON_EARLY_ADOPTER });
    const eve = await c.get({ key: "feat/a", context: { unitId: "eve", environment: "", attributes: {}, requestId: "" } });
    expect(eve).toMatchObject({ value: "old-a", reason: Reason.REASON_OUT_OF_ROLLOUT });

    const before = await headRevision(client);
    const err = await rejects(
      c.apply({
        operations: [
          { operation: { $case: "set", value: { key: "feat/c", value: 1 } } },
          { operation: { $case: "set", value: { key: "feat/a", value: "x", rollout: plan({ percentage: { $case: "steps", value: { start: 0, increment: 50, interval: undefined, target: 100 } } }) } } },
        ],
      }),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get("ctm-field")).toEqual(["operations[1].set.rollout.steps.interval"]);
    expect(await headRevision(client)).toBe(before);
  });
});
