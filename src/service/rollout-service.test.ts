import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bucket } from "@ctm/core/bucketing";
import { ManualClock } from "../domain/clock.js";
import { CtmError, type ErrorCode } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import type { RolloutInput } from "../domain/rollout/build-rollout.js";
import type { EvalContext, Resolution } from "@ctm/core/rollout/plan";
import { fromSlowroll } from "../domain/rollout/slowroll.js";
import { RolloutScheduler } from "../scheduler/rollout-scheduler.js";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "../watch/watch-hub.js";
import { ConfigService } from "./config-service.js";
import { RolloutService, SCHEDULER_AUTHOR } from "./rollout-service.js";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;
const KEY = "checkout.flow";

let dir: string;
let clock: ManualClock;
let store: LevelLogStore;
let hub: WatchHub;
let svc: ConfigService;
let rollouts: RolloutService;
let scheduler: RolloutScheduler;
const log = pino({ level: "silent" });

async function open(): Promise<void> {
  store = new LevelLogStore(dir, clock);
  await store.open();
  hub = new WatchHub(store);
  svc = new ConfigService(store, hub, clock);
  rollouts = new RolloutService(store, clock);
  scheduler = new RolloutScheduler(rollouts, log);
}

async function close(): Promise<void> {
  await scheduler.close();
  rollouts.close();
  hub.close();
  await store.close();
}

/** A daemon restart: everything in memory is thrown away and rebuilt from the log. */
async function restart(downtimeMs = 0): Promise<void> {
  await close();
  clock.advance(downtimeMs);
  await open();
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-rollout-"));
  clock = new ManualClock(T0);
  await open();
});
afterEach(async () => {
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

const ctx = (unitId: string, environment = "", attributes: Record<string, string> = {}): EvalContext => ({ unitId, environment, attributes });
const resolve = (unitId: string, environment = "", attributes: Record<string, string> = {}, key = KEY): Resolution =>
  svc.resolve(key, ctx(unitId, environment, attributes)).resolution;
const USERS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
const shareNew = (key = KEY, env = ""): number => USERS.filter((u) => resolve(u, env, {}, key).variant !== "stable").length / USERS.length;
/** Units whose bucket under `salt` satisfies `pred`. */
const unitsWhere = (pred: (b: number) => boolean, n: number, salt = KEY): string[] => USERS.filter((u) => pred(bucket(salt, u))).slice(0, n);

const steps10: RolloutInput["percentage"] = { kind: "steps", start: 10, increment: 10, intervalMs: 5 * MIN, target: 100 };

const startRollout = (rollout: RolloutInput, value: JsonValue = "new", key = KEY): Promise<LogRecord> =>
  svc.set({ key, value, rollout, author: "alice", message: "start rollout" });

/** [kind, author, cause, message] of every record of `key`, oldest first. */
async function historyOf(key = KEY): Promise<[string, string, string, string][]> {
  const { records } = await svc.history(key, 1000, "");
  return records.reverse().map((r) => [r.kind, r.author, r.cause, r.message]);
}

async function expectError(p: Promise<unknown> | (() => unknown), code: ErrorCode, field?: string): Promise<CtmError> {
  const head = store.headRevision;
  let caught: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected an error").toBeInstanceOf(CtmError);
  const err = caught as CtmError;
  expect(err.code).toBe(code);
  if (field !== undefined) expect(err.field).toBe(field);
  expect(store.headRevision, "a rejected request writes nothing").toBe(head);
  return err;
}

const S = (reason: Resolution["reason"]): Resolution => ({ value: "old", variant: "stable", reason });
const N = (reason: Resolution["reason"]): Resolution => ({ value: "new", variant: "new", reason });

describe("Get resolves per context", () => {
  it("names every reason", async () => {
    await svc.set({ key: "plain", value: 5 });
    await svc.set({ key: KEY, value: "old" });
    const inside = unitsWhere((b) => b < 10_000, 1)[0]!;
    const outside = unitsWhere((b) => b >= 10_000, 1)[0]!;
    await startRollout({
      earlyAdopters: ["early"],
      pinned: [
        { unitId: "pin-old", serve: "stable" },
        { unitId: "pin-new", serve: "new" },
      ],
      rules: [{ unitIdRegex: "^qa-[0-9]+$" }, { attribute: "app", op: "semver_gte", values: ["3.0.0"] }],
      rings: { order: ["dev", "staging", "prod"], intervalMs: 0 },
      percentage: steps10,
    });
    await svc.set({ key: "later", value: "new", rollout: { stable: "old", activateAt: T0 + HOUR } });
    await svc.set({ key: "ab", value: "new", rollout: { stable: "old", variants: [{ name: "red", weight: 1, value: "R" }] } });

    expect(resolve("anyone", "", {}, "plain")).toEqual({ value: 5, variant: "", reason: "static" });
    expect(resolve("early", "prod")).toEqual(N("early_adopter"));
    expect(resolve("pin-old", "dev")).toEqual(S("pinned"));
    expect(resolve("pin-new", "prod")).toEqual(N("pinned"));
    expect(resolve("qa-17", "prod")).toEqual(N("rule_match"));
    expect(resolve("qa-17x", "dev").reason).not.toBe("rule_match");
    expect(resolve(outside, "prod", { app: "3.1.0" })).toEqual(N("rule_match"));
    expect(resolve(outside, "dev", { app: "2.9.9" })).toEqual(S("out_of_rollout"));
    expect(resolve(inside, "dev")).toEqual(N("in_rollout"));
    expect(resolve(inside, "staging")).toEqual(S("ring_not_reached"));
    expect(resolve("u", "", {}, "later")).toEqual(S("scheduled_not_yet"));
    expect(resolve("u", "", {}, "ab")).toEqual({ value: "R", variant: "red", reason: "variant" });
    await rollouts.kill(KEY, { author: "oncall" });
    expect(resolve("early", "prod")).toEqual(S("rolled_back"));
    expect(resolve(inside, "dev")).toEqual(S("rolled_back"));
  });

  it("a rollout's stable value defaults to the current value", async () => {
    await svc.set({ key: KEY, value: "old" });
    const r = await startRollout({ percentage: steps10 });
    expect(r.rollout!.plan.stable).toBe("old");
    const out = unitsWhere((b) => b >= 10_000, 1)[0]!;
    expect(resolve(out)).toEqual(S("out_of_rollout"));
  });

  it("rejects pathological regexes as invalid_argument naming the field, writing nothing", async () => {
    await svc.set({ key: KEY, value: "old" });
    const bad = (unitIdRegex: string): Promise<LogRecord> => startRollout({ rules: [{ unitIdRegex: "^ok" }, { unitIdRegex: "^fine" }, { unitIdRegex }] });
    for (const p of ["(a+)\\1", "(?=a)b", "(?!x).*", "(?<=a)b"]) {
      const err = await expectError(bad(p), "invalid_argument", "rollout.rules[2].unit_id_regex");
      expect(err.message).toMatch(/^rollout\.rules\[2\]\.unit_id_regex: is not a linear-time \(RE2\) regex/);
    }
    await expectError(startRollout({ percentage: { kind: "steps", start: 10, increment: 10, intervalMs: 0, target: 100 } }), "invalid_argument", "rollout.steps.interval");
    expect(rollouts.activeRollouts).toBe(0);
  });
});

describe("canary steps", () => {
  it("10 -> 20 -> ... -> 100 every 5 minutes, one milestone record per step, then finalized", async () => {
    await svc.set({ key: KEY, value: "old" });
    await startRollout({ percentage: steps10 });
    expect(rollouts.activeRollouts).toBe(1);
    const st = rollouts.status(KEY);
    expect(st).toMatchObject({ active: true, percent: 10, ring: "", paused: false, killed: false, activated: true });
    expect(st.milestones).toHaveLength(10);
    expect(st.next).toMatchObject({ index: 1, kind: "step", percent: 20, reached: false, at: T0 + 5 * MIN, dueAt: T0 + 5 * MIN, description: "step 1 of 9: 20%" });
    expect(shareNew()).toBeCloseTo(0.1, 1);

    expect(await scheduler.tick()).toEqual([]);
    clock.advance(5 * MIN - 1);
    expect(await scheduler.tick()).toEqual([]);
    expect(shareNew()).toBeCloseTo(0.1, 1);
    clock.advance(1);
    const [m1, ...more] = await scheduler.tick();
    expect(more).toEqual([]);
    expect(m1).toMatchObject({ kind: "rollout_milestone", author: SCHEDULER_AUTHOR, cause: "scheduler", message: "step 1 of 9: 20%", value: "new", version: 3, time: T0 + 5 * MIN });
    expect(m1!.rollout!.state.milestones).toBe(1);
    expect(rollouts.status(KEY)).toMatchObject({ percent: 20, next: { index: 2, percent: 30, dueAt: T0 + 10 * MIN } });
    expect(shareNew()).toBeCloseTo(0.2, 1);

    for (let step = 2; step <= 8; step++) {
      clock.advance(5 * MIN);
      expect((await scheduler.tick()).map((r) => r.message)).toEqual([`step ${step} of 9: ${10 + step * 10}%`]);
      expect(rollouts.status(KEY).percent).toBe(10 + step * 10);
    }
    clock.advance(5 * MIN);
    const end = await scheduler.tick();
    expect(end.map((r) => [r.kind, r.message])).toEqual([
      ["rollout_milestone", "step 9 of 9: 100%"],
      ["rollout_finalized", "finalized: new value for everyone"],
    ]);
    expect(end[1]!.rollout).toBeUndefined();
    expect(resolve("user-1")).toEqual({ value: "new", variant: "", reason: "static" });
    expect(rollouts.activeRollouts).toBe(0);
    expect(rollouts.status(KEY)).toMatchObject({ active: false, percent: 100, next: undefined });
    clock.advance(HOUR);
    expect(await scheduler.tick()).toEqual([]);

    const h = await historyOf();
    expect(h[0]).toEqual(["set", "anonymous", "api", ""]);
    expect(h[1]).toEqual(["set", "alice", "api", "start rollout"]);
    expect(h.slice(2).map(([k, a, c]) => [k, a, c])).toEqual([...Array(10).fill(["rollout_milestone", "ctm-scheduler", "scheduler"]).slice(0, 9), ["rollout_finalized", "ctm-scheduler", "scheduler"]]);
    expect(h.slice(2).map((r) => r[3])).toEqual([...Array.from({ length: 9 }, (_, i) => `step ${i + 1} of 9: ${20 + i * 10}%`), "finalized: new value for everyone"]);
  });

  it("a unit once in stays in as the percentage rises", async () => {
    await startRollout({ stable: "old", percentage: steps10 });
    const inAt = (): Set<string> => new Set(USERS.filter((u) => resolve(u).value === "new"));
    let before = inAt();
    for (let i = 0; i < 9; i++) {
      clock.advance(5 * MIN);
      await scheduler.tick();
      const now = inAt();
      for (const u of before) expect(now.has(u)).toBe(true);
      expect(now.size).toBeGreaterThan(before.size);
      before = now;
    }
    expect(before.size).toBe(USERS.length);
  });
});

describe("linear ramp", () => {
  it.each([
    ["start + end", { startAt: T0 + 10 * MIN, endAt: T0 + 70 * MIN }],
    ["end + duration", { endAt: T0 + 70 * MIN, durationMs: HOUR }],
    ["start + duration", { startAt: T0 + 10 * MIN, durationMs: HOUR }],
  ])("%s: 0 -> 100 over the hour, then ramp complete and finalized", async (_name, times) => {
    await startRollout({ stable: "old", percentage: { kind: "ramp", from: 0, to: 100, ...times } });
    expect(rollouts.status(KEY)).toMatchObject({ percent: 0, next: { kind: "ramp_complete", dueAt: T0 + 70 * MIN } });
    clock.advance(10 * MIN);
    expect(shareNew()).toBe(0);
    clock.advance(30 * MIN);
    expect(rollouts.status(KEY).percent).toBe(50);
    expect(shareNew()).toBeCloseTo(0.5, 1);
    expect(await scheduler.tick()).toEqual([]);
    clock.advance(30 * MIN);
    expect((await scheduler.tick()).map((r) => [r.kind, r.message, r.cause])).toEqual([
      ["rollout_milestone", "ramp complete at 100%", "scheduler"],
      ["rollout_finalized", "finalized: new value for everyone", "scheduler"],
    ]);
    expect(resolve("user-1")).toEqual({ value: "new", variant: "", reason: "static" });
  });

  it("a slowroll feature rolls out as its ramp", async () => {
    const { value, rollout } = fromSlowroll({ stable: 1, new: 2, early_adopters: ["alice"], end_time: new Date(T0 + 72 * HOUR).toISOString(), duration: "72h" });
    await svc.set({ key: KEY, value, rollout });
    expect(resolve("alice")).toEqual({ value: 2, variant: "new", reason: "early_adopter" });
    expect(shareNew()).toBe(0);
    clock.advance(36 * HOUR);
    expect(rollouts.status(KEY).percent).toBe(50);
    clock.advance(36 * HOUR);
    expect((await scheduler.tick()).map((r) => r.kind)).toEqual(["rollout_milestone", "rollout_finalized"]);
    expect(resolve("bob")).toEqual({ value: 2, variant: "", reason: "static" });
  });

  it("ramps down: the share falls, the last units in leave first, and it ends on the stable value", async () => {
    await startRollout({ stable: "old", percentage: { kind: "ramp", from: 60, to: 0, durationMs: 60 * MIN } });
    const last = unitsWhere((b) => b >= 50_000 && b < 60_000, 5);
    const first = unitsWhere((b) => b < 10_000, 5);
    for (const u of [...last, ...first]) expect(resolve(u)).toEqual(N("in_rollout"));
    let before = new Set(USERS.filter((u) => resolve(u).variant === "new"));
    expect(before.size / USERS.length).toBeCloseTo(0.6, 1);
    clock.advance(10 * MIN); // 50%
    for (const u of last) expect(resolve(u)).toEqual(S("out_of_rollout"));
    for (const u of first) expect(resolve(u)).toEqual(N("in_rollout"));
    for (let i = 0; i < 5; i++) {
      const now = new Set(USERS.filter((u) => resolve(u).variant === "new"));
      for (const u of now) expect(before.has(u)).toBe(true);
      before = now;
      clock.advance(10 * MIN);
    }
    expect((await scheduler.tick()).map((r) => [r.kind, r.message])).toEqual([
      ["rollout_milestone", "ramp complete at 0%"],
      ["rollout_finalized", "finalized: ramped down to the stable value"],
    ]);
    expect(resolve(first[0]!)).toEqual({ value: "old", variant: "", reason: "static" });
  });
});

describe("rings", () => {
  it("timed: dev, then staging, then prod, each promotion a milestone record", async () => {
    await startRollout({ stable: "old", rings: { order: ["dev", "staging", "prod"], intervalMs: HOUR } });
    const envs = (): string[] => ["dev", "staging", "prod"].map((e) => resolve("u1", e).reason);
    expect(envs()).toEqual(["in_rollout", "ring_not_reached", "ring_not_reached"]);
    expect(rollouts.status(KEY)).toMatchObject({ ring: "dev", next: { kind: "ring", ring: "staging", dueAt: T0 + HOUR } });
    clock.advance(HOUR);
    expect(envs()).toEqual(["in_rollout", "in_rollout", "ring_not_reached"]);
    expect((await scheduler.tick()).map((r) => [r.message, r.cause])).toEqual([["ring staging reached", "scheduler"]]);
    expect(rollouts.status(KEY).ring).toBe("staging");
    clock.advance(HOUR);
    expect(envs()).toEqual(["in_rollout", "in_rollout", "in_rollout"]);
    expect((await scheduler.tick()).map((r) => r.message)).toEqual(["ring prod reached", "finalized: new value for everyone"]);
  });

  it("manual: promoted by hand, in order; promote next goes to rings first, then steps", async () => {
    await startRollout({ stable: "old", rings: { order: ["dev", "staging", "prod"] }, percentage: { kind: "steps", start: 50, increment: 50, intervalMs: HOUR, target: 100 } });
    const inside = unitsWhere((b) => b < 50_000, 1)[0]!;
    const outside = unitsWhere((b) => b >= 50_000, 1)[0]!;
    clock.advance(10 * HOUR);
    expect(resolve(inside, "staging")).toEqual(S("ring_not_reached"));
    // the step still falls due by time; the rings do not
    expect((await scheduler.tick()).map((r) => r.message)).toEqual(["step 1 of 1: 100%"]);
    expect(resolve(outside, "dev")).toEqual(N("in_rollout"));
    expect(resolve(outside, "staging")).toEqual(S("ring_not_reached"));

    const p1 = await rollouts.promote(KEY, "next", { author: "bob", message: "dev looks good" });
    expect(p1).toMatchObject({ kind: "rollout_promoted", author: "bob", cause: "api", message: "dev looks good" });
    expect(rollouts.status(KEY).ring).toBe("staging");
    expect(resolve(outside, "staging")).toEqual(N("in_rollout"));
    expect(resolve(outside, "prod")).toEqual(S("ring_not_reached"));
    const p2 = await rollouts.promote(KEY, "next", { author: "bob" });
    expect(p2.message).toBe("promoted to ring prod");
    expect(resolve(outside, "prod")).toEqual(N("in_rollout"));
    // nothing automatic finishes a hand-driven plan
    clock.advance(100 * HOUR);
    expect(await scheduler.tick()).toEqual([]);
    const fin = await rollouts.promote(KEY, "next", { author: "bob" });
    expect(fin).toMatchObject({ kind: "rollout_finalized", message: "promoted: finished", value: "new" });
    expect(fin.rollout).toBeUndefined();
  });
});

describe("scheduled activation", () => {
  it("serves stable until T, then the plan starts from T; the scheduler records the activation", async () => {
    await svc.set({ key: KEY, value: "old" });
    await startRollout({ activateAt: T0 + 2 * HOUR, earlyAdopters: ["early"], percentage: { kind: "steps", start: 50, increment: 50, intervalMs: 10 * MIN, target: 100 } });
    expect(rollouts.status(KEY)).toMatchObject({ activated: false, next: { kind: "activated", dueAt: T0 + 2 * HOUR } });
    clock.advance(2 * HOUR - 1);
    expect(resolve("early")).toEqual(S("scheduled_not_yet"));
    expect(resolve("user-1")).toEqual(S("scheduled_not_yet"));
    expect(await scheduler.tick()).toEqual([]);
    clock.advance(1);
    expect(resolve("early")).toEqual(N("early_adopter"));
    expect(shareNew()).toBeCloseTo(0.5, 1);
    expect((await scheduler.tick()).map((r) => [r.kind, r.message, r.author])).toEqual([["rollout_milestone", "activated", "ctm-scheduler"]]);
    expect(rollouts.status(KEY)).toMatchObject({ activated: true, percent: 50, next: { kind: "step", dueAt: T0 + 2 * HOUR + 10 * MIN } });
    // GetAt before T still says scheduled_not_yet
    expect((await svc.getAt(KEY, { time: T0 + HOUR }, ctx("early"))).resolution).toEqual(S("scheduled_not_yet"));
  });
});

describe("variants and interpolation", () => {
  it("weighted variants are sticky while the canary grows", async () => {
    await startRollout({
      stable: "old",
      percentage: steps10,
      variants: [
        { name: "blue", weight: 1, value: "B" },
        { name: "green", weight: 1, value: "G" },
      ],
    });
    const seen = new Map<string, string>();
    for (let i = 0; i <= 9; i++) {
      for (const u of USERS.slice(0, 500)) {
        const r = resolve(u);
        if (r.variant === "stable") continue;
        expect(r.reason).toBe("variant");
        expect(r.value).toBe(r.variant === "blue" ? "B" : "G");
        const before = seen.get(u);
        if (before) expect(r.variant).toBe(before);
        else seen.set(u, r.variant);
      }
      clock.advance(5 * MIN);
      await scheduler.tick();
    }
    expect(seen.size).toBe(500);
    const blue = [...seen.values()].filter((v) => v === "blue").length;
    expect(blue).toBeGreaterThan(200);
    expect(blue).toBeLessThan(300);
    // finalized with variants: the A/B split stays
    expect(resolve(USERS[0]!)).toEqual({ value: seen.get(USERS[0]!) === "blue" ? "B" : "G", variant: seen.get(USERS[0]!), reason: "variant" });
    expect(rollouts.status(KEY).record.kind).toBe("rollout_finalized");
  });

  it("interpolates numbers; integers stay integers", async () => {
    await svc.set({ key: "db.pool", value: 10 });
    await svc.set({ key: "db.pool", value: 40, rollout: { interpolate: true, percentage: { kind: "steps", start: 0, increment: 25, intervalMs: 10 * MIN, target: 100 } } });
    const at = (): JsonValue | undefined => svc.resolve("db.pool", ctx("any")).resolution.value;
    const seen: (JsonValue | undefined)[] = [at()];
    for (let i = 0; i < 4; i++) {
      clock.advance(10 * MIN);
      seen.push(at());
    }
    expect(seen).toEqual([10, 18, 25, 33, 40]);
    expect(seen.every((v) => Number.isInteger(v))).toBe(true);
  });
});

describe("controls", () => {
  beforeEach(async () => {
    await svc.set({ key: KEY, value: "old" });
    await startRollout({ percentage: steps10 });
  });

  it("status, pause (frozen while the clock moves), resume (continues where it stopped)", async () => {
    clock.advance(12 * MIN);
    await scheduler.tick(); // steps 1 and 2
    const p = await rollouts.pause(KEY, { author: "carol", message: "error rate" });
    expect(p).toMatchObject({ kind: "rollout_paused", author: "carol", cause: "api", message: "error rate", value: "new", version: 5, time: T0 + 12 * MIN });
    expect(p.rollout!.state.pausedAt).toBe(T0 + 12 * MIN);
    const frozen = new Set(USERS.filter((u) => resolve(u).variant === "new"));
    clock.advance(5 * HOUR);
    expect(rollouts.status(KEY)).toMatchObject({ paused: true, percent: 30, next: { index: 3, percent: 40, dueAt: undefined } });
    expect(await scheduler.tick()).toEqual([]);
    expect(new Set(USERS.filter((u) => resolve(u).variant === "new"))).toEqual(frozen);
    await expectError(rollouts.pause(KEY, {}), "failed_precondition");

    const r = await rollouts.resume(KEY, { author: "carol" });
    expect(r).toMatchObject({ kind: "rollout_resumed", author: "carol", cause: "api", message: "resumed" });
    expect(r.rollout!.state).toMatchObject({ shiftMs: -5 * HOUR });
    expect(rollouts.status(KEY)).toMatchObject({ paused: false, percent: 30, next: { index: 3, dueAt: T0 + 5 * HOUR + 15 * MIN } });
    clock.advance(3 * MIN - 1);
    expect(await scheduler.tick()).toEqual([]);
    clock.advance(1);
    expect((await scheduler.tick()).map((x) => x.message)).toEqual(["step 3 of 9: 40%"]);
    await expectError(rollouts.resume(KEY, {}), "failed_precondition");
  });

  it("milestones that fell due before a pause are still written, once", async () => {
    clock.advance(11 * MIN); // steps 1 and 2 are due; nobody ticked
    await rollouts.pause(KEY, { author: "carol" });
    clock.advance(HOUR);
    expect((await scheduler.tick()).map((x) => x.message)).toEqual(["step 1 of 9: 20%", "step 2 of 9: 30%"]);
    expect(await scheduler.tick()).toEqual([]);
    expect(rollouts.status(KEY)).toMatchObject({ paused: true, percent: 30 });
  });

  it("kill switch: everyone stable at once, rolled_back; resume lifts it", async () => {
    clock.advance(5 * MIN);
    const inNow = USERS.filter((u) => resolve(u).variant === "new");
    const percentAtKill = rollouts.status(KEY).percent;
    const k = await rollouts.kill(KEY, { author: "oncall" });
    expect(k).toMatchObject({ kind: "rollout_killed", author: "oncall", cause: "api", message: "kill switch: stable value for everyone" });
    expect(USERS.every((u) => resolve(u).reason === "rolled_back" && resolve(u).value === "old")).toBe(true);
    expect(rollouts.status(KEY).killed).toBe(true);
    clock.advance(HOUR);
    expect(await scheduler.tick()).toEqual([]);
    await expectError(rollouts.kill(KEY, {}), "failed_precondition");
    const r = await rollouts.resume(KEY, { author: "oncall" });
    expect(r.message).toBe("kill switch lifted, resumed");
    // the kill froze the plan's clock: the rollout resumes where it stood, not where time says
    expect(rollouts.status(KEY).percent).toBe(percentAtKill);
    expect(percentAtKill).toBeLessThan(100);
    for (const u of inNow) expect(resolve(u)).toEqual(N("in_rollout"));
  });

  it("promote next (step by step) and finish", async () => {
    clock.advance(MIN);
    const a = await rollouts.promote(KEY, "next", { author: "dan" });
    expect(a).toMatchObject({ kind: "rollout_promoted", author: "dan", cause: "api", message: "promoted: step 1 of 9: 20%" });
    expect(rollouts.status(KEY)).toMatchObject({ percent: 20, next: { index: 2, dueAt: T0 + 6 * MIN } });
    expect(await scheduler.tick()).toEqual([]);
    const f = await rollouts.promote(KEY, "finish", { author: "dan" });
    expect(f).toMatchObject({ kind: "rollout_finalized", value: "new", message: "promoted: finished" });
    expect(resolve("user-3")).toEqual({ value: "new", variant: "", reason: "static" });
    await expectError(rollouts.promote(KEY, "next", {}), "failed_precondition");
  });

  it("abort: the stable value becomes the static value", async () => {
    const a = await rollouts.abort(KEY, { author: "eve", message: "bad idea" });
    expect(a).toMatchObject({ kind: "rollout_aborted", value: "old", author: "eve", cause: "api", message: "bad idea" });
    expect(a.rollout).toBeUndefined();
    expect(resolve("user-1")).toEqual({ value: "old", variant: "", reason: "rolled_back" });
    expect(rollouts.status(KEY).active).toBe(false);
    clock.advance(HOUR);
    expect(await scheduler.tick()).toEqual([]);
    await expectError(rollouts.pause(KEY, {}), "failed_precondition");
  });

  it("checks the key, the author and expected_version", async () => {
    await expectError(rollouts.pause("missing", {}), "not_found");
    await expectError(rollouts.pause("bad key", {}), "invalid_argument", "key");
    await expectError(rollouts.pause(KEY, { expectedVersion: 1 }), "conflict", "expected_version");
    await expectError(rollouts.pause(KEY, { author: "x".repeat(10_000) }), "invalid_argument", "author");
    const p = await rollouts.pause(KEY, { expectedVersion: 2 });
    expect(p).toMatchObject({ author: "anonymous", message: "paused", version: 3 });
  });

  it("every control is a record in history with its author and cause api", async () => {
    clock.advance(5 * MIN);
    await scheduler.tick();
    await rollouts.pause(KEY, { author: "a1" });
    await rollouts.resume(KEY, { author: "a2" });
    await rollouts.kill(KEY, { author: "a3" });
    await rollouts.resume(KEY, { author: "a4" });
    await rollouts.promote(KEY, "next", { author: "a5" });
    await rollouts.abort(KEY, { author: "a6" });
    expect((await historyOf()).slice(2)).toEqual([
      ["rollout_milestone", "ctm-scheduler", "scheduler", "step 1 of 9: 20%"],
      ["rollout_paused", "a1", "api", "paused"],
      ["rollout_resumed", "a2", "api", "resumed"],
      ["rollout_killed", "a3", "api", "kill switch: stable value for everyone"],
      ["rollout_resumed", "a4", "api", "kill switch lifted, resumed"],
      ["rollout_promoted", "a5", "api", "promoted: step 2 of 9: 30%"],
      ["rollout_aborted", "a6", "api", "aborted: back to the stable value"],
    ]);
  });
});

describe("scheduler", () => {
  it("catches up after downtime: one tick writes every missed milestone, once", async () => {
    await startRollout({ stable: "old", rings: { order: ["dev", "prod"], intervalMs: 20 * MIN }, percentage: steps10 });
    clock.advance(6 * HOUR);
    const written = await scheduler.tick();
    expect(written.map((r) => r.message)).toEqual([
      "step 1 of 9: 20%",
      "step 2 of 9: 30%",
      "step 3 of 9: 40%",
      "step 4 of 9: 50%", // at 20 minutes, like the ring: the step comes first
      "ring prod reached",
      "step 5 of 9: 60%",
      "step 6 of 9: 70%",
      "step 7 of 9: 80%",
      "step 8 of 9: 90%",
      "step 9 of 9: 100%",
      "finalized: new value for everyone",
    ]);
    expect(new Set(written.map((r) => r.time))).toEqual(new Set([T0 + 6 * HOUR]));
    expect(written.map((r) => r.revision)).toEqual(Array.from({ length: 11 }, (_, i) => 2 + i));
    expect(written.every((r) => r.cause === "scheduler" && r.author === SCHEDULER_AUTHOR)).toBe(true);
    expect(await scheduler.tick()).toEqual([]);
    await restart(HOUR);
    expect(await scheduler.tick()).toEqual([]);
    expect(store.headRevision).toBe(12);
  });

  it("a restarted daemon writes what fell due while it was down, and nothing more after another restart", async () => {
    await startRollout({ stable: "old", percentage: steps10 });
    clock.advance(5 * MIN);
    expect((await scheduler.tick()).map((r) => r.message)).toEqual(["step 1 of 9: 20%"]);
    await restart(17 * MIN); // steps 2, 3, 4 fall due while down
    expect(rollouts.activeRollouts).toBe(1);
    expect((await scheduler.tick()).map((r) => r.message)).toEqual(["step 2 of 9: 30%", "step 3 of 9: 40%", "step 4 of 9: 50%"]);
    expect(await scheduler.tick()).toEqual([]);
    await restart(0);
    expect(await scheduler.tick()).toEqual([]);
    await restart(2 * HOUR);
    expect((await scheduler.tick()).map((r) => r.kind)).toEqual([...Array<string>(5).fill("rollout_milestone"), "rollout_finalized"]);
    await restart(0);
    expect(await scheduler.tick()).toEqual([]);
    expect(rollouts.activeRollouts).toBe(0);
    const h = await historyOf();
    expect(h.filter((r) => r[0] === "rollout_milestone").map((r) => r[3])).toEqual(Array.from({ length: 9 }, (_, i) => `step ${i + 1} of 9: ${20 + i * 10}%`));
    expect(h.filter((r) => r[0] === "rollout_finalized")).toHaveLength(1);
  });

  it("handles many rolling keys in one tick, each in its own batch", async () => {
    await startRollout({ stable: 0, percentage: steps10 }, 1, "a");
    await startRollout({ stable: 0, percentage: { kind: "ramp", from: 0, to: 100, durationMs: 10 * MIN } }, 1, "b");
    await startRollout({ stable: 0, activateAt: T0 + 7 * MIN }, 1, "c");
    await svc.set({ key: "d", value: 1 });
    clock.advance(10 * MIN);
    const written = await scheduler.tick();
    expect(written.map((r) => [r.key, r.message]).sort()).toEqual(
      [
        ["a", "step 1 of 9: 20%"],
        ["a", "step 2 of 9: 30%"],
        ["b", "ramp complete at 100%"],
        ["b", "finalized: new value for everyone"],
        ["c", "activated"],
        ["c", "finalized: new value for everyone"],
      ].sort(),
    );
    expect(rollouts.activeRollouts).toBe(1);
  });

  it("watchers are told of milestones", async () => {
    await startRollout({ stable: "old", percentage: steps10 });
    const w = svc.watch(KEY, false, 0);
    const all = svc.watch("", true, 0);
    clock.advance(10 * MIN);
    await scheduler.tick();
    const got = await w.next();
    expect(got.done).toBe(false);
    expect(got.value!.map((r: LogRecord) => [r.kind, r.message, r.author, r.cause])).toEqual([
      ["rollout_milestone", "step 1 of 9: 20%", "ctm-scheduler", "scheduler"],
      ["rollout_milestone", "step 2 of 9: 30%", "ctm-scheduler", "scheduler"],
    ]);
    await rollouts.pause(KEY, { author: "carol" });
    const next = await w.next();
    expect(next.value!.map((r: LogRecord) => [r.kind, r.author, r.cause])).toEqual([["rollout_paused", "carol", "api"]]);
    const everything = [...(await all.next()).value!];
    if (everything.length < 3) everything.push(...(await all.next()).value!);
    expect(everything.map((r: LogRecord) => r.kind)).toEqual(["rollout_milestone", "rollout_milestone", "rollout_paused"]);
    w.close();
    all.close();
  });
});

describe("compare-and-set between controls and the scheduler", () => {
  beforeEach(async () => {
    await svc.set({ key: KEY, value: "old" });
    await startRollout({ percentage: steps10 });
    clock.advance(5 * MIN);
  });

  it("tick first: the control racing it is a conflict and nothing is applied twice", async () => {
    const [tick, pause] = await Promise.allSettled([scheduler.tick(), rollouts.pause(KEY, { author: "carol" })]);
    expect(tick.status).toBe("fulfilled");
    expect((tick as PromiseFulfilledResult<LogRecord[]>).value.map((r) => r.message)).toEqual(["step 1 of 9: 20%"]);
    expect(pause.status).toBe("rejected");
    expect((pause as PromiseRejectedResult).reason).toMatchObject({ code: "conflict" });
    expect((await historyOf()).map((r) => r[0])).toEqual(["set", "set", "rollout_milestone"]);
    await rollouts.pause(KEY, { author: "carol" }); // the retry succeeds
    expect(await scheduler.tick()).toEqual([]);
  });

  it("control first: the tick writes nothing on that version and the next tick catches up once", async () => {
    const [pause, tick] = await Promise.allSettled([rollouts.pause(KEY, { author: "carol" }), scheduler.tick()]);
    expect(pause.status).toBe("fulfilled");
    expect(tick).toEqual({ status: "fulfilled", value: [] });
    expect((await historyOf()).map((r) => r[0])).toEqual(["set", "set", "rollout_paused"]);
    expect((await scheduler.tick()).map((r) => r.message)).toEqual(["step 1 of 9: 20%"]);
    expect(await scheduler.tick()).toEqual([]);
    expect((await historyOf()).map((r) => r[0])).toEqual(["set", "set", "rollout_paused", "rollout_milestone"]);
  });

  it("a promote racing the step it would promote to: the step is applied once, not twice", async () => {
    const [tick, promote] = await Promise.allSettled([scheduler.tick(), rollouts.promote(KEY, "next", { author: "dan", expectedVersion: 2 })]);
    expect((tick as PromiseFulfilledResult<LogRecord[]>).value).toHaveLength(1);
    expect((promote as PromiseRejectedResult).reason).toMatchObject({ code: "conflict", field: "expected_version" });
    expect(rollouts.status(KEY).percent).toBe(20);
    const p = await rollouts.promote(KEY, "next", { author: "dan", expectedVersion: 3 });
    expect(p.message).toBe("promoted: step 2 of 9: 30%");
    expect(rollouts.status(KEY).percent).toBe(30);
  });

  it("two ticks racing write each milestone once", async () => {
    const [a, b] = await Promise.all([scheduler.tick(), scheduler.tick()]);
    expect([...a, ...b].map((r) => r.message)).toEqual(["step 1 of 9: 20%"]);
  });

  it("a set racing a tick replaces the rollout; the tick does not write over it", async () => {
    const [set, tick] = await Promise.allSettled([svc.set({ key: KEY, value: "plain" }), scheduler.tick()]);
    expect(set.status).toBe("fulfilled");
    expect(tick).toEqual({ status: "fulfilled", value: [] });
    expect(resolve("u")).toEqual({ value: "plain", variant: "", reason: "static" });
    expect(rollouts.activeRollouts).toBe(0);
  });
});

describe("GetAt(key, T, context) returns exactly what was served at T", () => {
  it("for a rollout driven by time, the scheduler and controls (property)", async () => {
    const ENVS = ["dev", "staging", "prod"];
    const CONTEXTS = Array.from({ length: 24 }, (_, i) => ctx(i % 8 === 0 ? `early-${i}` : `user-${i * 7919}`, ENVS[i % 3]!, { app: i % 2 ? "2.0.0" : "3.1.0" }));

    const percentage = fc.oneof(
      fc.constant(undefined),
      fc.record({
        kind: fc.constant("steps" as const),
        start: fc.constantFrom(0, 5, 10, 25),
        increment: fc.constantFrom(5, 10, 25, 33.3),
        intervalMs: fc.constantFrom(MIN, 5 * MIN, 10 * MIN),
        target: fc.constantFrom(50, 100),
      }),
      fc.record({ kind: fc.constant("steps" as const), start: fc.constant(100), increment: fc.constantFrom(-10, -25), intervalMs: fc.constantFrom(MIN, 5 * MIN), target: fc.constant(0) }),
      fc
        .record({ from: fc.integer({ min: 0, max: 100 }), to: fc.integer({ min: 0, max: 100 }), startOffset: fc.integer({ min: -10 * MIN, max: 30 * MIN }), durationMs: fc.integer({ min: MIN, max: 2 * HOUR }) })
        .filter((r) => r.from !== r.to)
        .map((r) => ({ kind: "ramp" as const, from: r.from, to: r.to, startOffset: r.startOffset, durationMs: r.durationMs })),
    );
    const plan = fc.record({
      percentage,
      rings: fc.option(fc.constantFrom(0, 5 * MIN, 15 * MIN, 30 * MIN), { nil: undefined }),
      activateIn: fc.option(fc.integer({ min: 0, max: HOUR }), { nil: undefined }),
      early: fc.boolean(),
      rule: fc.boolean(),
      variants: fc.boolean(),
      interpolate: fc.boolean(),
    });
    const action = fc.record({
      dt: fc.oneof(fc.integer({ min: 1, max: 10 * MIN }), fc.integer({ min: 1, max: 5 * HOUR })),
      control: fc.constantFrom("none", "none", "none", "pause", "resume", "kill", "resume", "promote", "finish", "abort"),
      tick: fc.boolean(),
    });

    let run = 0;
    await fc.assert(
      fc.asyncProperty(plan, fc.array(action, { minLength: 1, maxLength: 10 }), async (p, actions) => {
        const key = `prop.k${run++}`;
        clock.advance(1);
        const now = clock.now();
        const numeric = p.interpolate && !p.variants;
        const input: RolloutInput = {
          stable: numeric ? 10 : "old",
          ...(p.percentage === undefined
            ? {}
            : p.percentage.kind === "ramp"
              ? { percentage: { kind: "ramp", from: p.percentage.from, to: p.percentage.to, startAt: now + p.percentage.startOffset, durationMs: p.percentage.durationMs } }
              : { percentage: p.percentage }),
          ...(p.rings === undefined ? {} : { rings: { order: ENVS, intervalMs: p.rings } }),
          ...(p.activateIn === undefined ? {} : { activateAt: now + p.activateIn }),
          earlyAdopters: p.early ? CONTEXTS.filter((c) => c.unitId.startsWith("early")).map((c) => c.unitId) : [],
          rules: p.rule ? [{ attribute: "app", op: "semver_gte", values: ["3.0.0"] }] : [],
          variants: p.variants
            ? [
                { name: "a", weight: 2, value: "A" },
                { name: "b", weight: 1, value: "B" },
              ]
            : [],
          interpolate: numeric,
          // Ramps that began up to 10 minutes ago are part of the property: asked for explicitly.
          allowPastStart: true,
        };
        await svc.set({ key, value: numeric ? 50 : "new", rollout: input });

        const served: { t: number; c: EvalContext; r: Resolution }[] = [];
        const record = (): void => {
          for (const c of CONTEXTS) served.push({ t: clock.now(), c, r: svc.resolve(key, c).resolution });
        };
        record();
        for (const a of actions) {
          clock.advance(a.dt);
          const meta = { author: "prop" };
          try {
            if (a.control === "pause") await rollouts.pause(key, meta);
            if (a.control === "resume") await rollouts.resume(key, meta);
            if (a.control === "kill") await rollouts.kill(key, meta);
            if (a.control === "promote") await rollouts.promote(key, "next", meta);
            if (a.control === "finish") await rollouts.promote(key, "finish", meta);
            if (a.control === "abort") await rollouts.abort(key, meta);
          } catch (e) {
            if (!(e instanceof CtmError && e.code === "failed_precondition")) throw e;
          }
          if (a.tick) await scheduler.tick();
          record();
        }
        clock.advance(MIN);
        await scheduler.tick();
        for (const s of served) {
          const got = await svc.getAt(key, { time: s.t }, s.c);
          expect(got.resolution, `${key} at +${s.t - now}ms for ${JSON.stringify(s.c)}`).toEqual(s.r);
        }
        // Retire the key so later runs' ticks do not drive it.
        await svc.set({ key, value: "done" });
      }),
      { numRuns: 40 },
    );
    expect(rollouts.activeRollouts).toBe(0);
  });
});
