import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucket, variantBucket } from "../bucketing.js";
import type { JsonValue } from "../json.js";
import type { LogRecord, RecordKind } from "../record.js";
import { evaluate } from "./evaluate.js";
import type { EvalContext, Rollout, RolloutPlan, RolloutState } from "./plan.js";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const SALT = "checkout.flow";

function rollout(plan: Partial<RolloutPlan> = {}, state: Partial<RolloutState> = {}): Rollout {
  return {
    plan: { stable: "old", salt: SALT, earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...plan },
    state: { startedAt: T0, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0, ...state },
  };
}

function record(ro: Rollout | undefined, value: JsonValue = "new", kind: RecordKind = "set"): LogRecord {
  return { revision: 7, key: "checkout.flow", version: 3, value, deleted: false, time: T0, author: "alice", message: "", kind, cause: "api", ...(ro ? { rollout: ro } : {}) };
}

const ctx = (unitId: string, environment = "", attributes: Record<string, string> = {}): EvalContext => ({ unitId, environment, attributes });

/** The first `n` units "u0", "u1", ... whose bucket under SALT satisfies `pred`. */
function unitsWhere(pred: (b: number) => boolean, n: number, salt = SALT): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (pred(bucket(salt, `u${i}`))) out.push(`u${i}`);
  return out;
}

const steps10 = { kind: "steps" as const, start: 10, increment: 10, intervalMs: 5 * MIN, target: 100 };

describe("evaluate without a rollout", () => {
  it("serves the record's value to everyone as static", () => {
    const r = record(undefined, { max: 30 });
    expect(evaluate(r, ctx("anyone"), T0)).toEqual({ value: { max: 30 }, variant: "", reason: "static" });
    expect(evaluate(record(undefined, 5, "rollout_finalized"), ctx("x"), T0)).toEqual({ value: 5, variant: "", reason: "static" });
  });

  it("names rollbacks and aborted rollouts rolled_back", () => {
    expect(evaluate(record(undefined, "old", "rollout_aborted"), ctx("x"), T0)).toEqual({ value: "old", variant: "", reason: "rolled_back" });
    expect(evaluate(record(undefined, 1, "rollback"), ctx("x"), T0)).toEqual({ value: 1, variant: "", reason: "rolled_back" });
  });
});

describe("kill switch", () => {
  it("serves stable to everyone, early adopters and pinned units included", () => {
    const ro = rollout({ earlyAdopters: ["ea"], pinned: [{ unitId: "pin", serve: "new" }], rules: [{ unitIdRegex: "^r" }] }, { killed: true });
    for (const u of ["ea", "pin", "r1", "someone"]) {
      expect(evaluate(record(ro), ctx(u), T0 + 60 * MIN)).toEqual({ value: "old", variant: "stable", reason: "rolled_back" });
    }
  });
});

describe("scheduled activation", () => {
  const ro = rollout({ activateAt: T0 + 10 * MIN, earlyAdopters: ["ea"], pinned: [{ unitId: "pin", serve: "new" }] }, { startedAt: T0 + 10 * MIN });

  it("serves stable with scheduled_not_yet before the activation time, to everyone", () => {
    for (const u of ["ea", "pin", "u1"]) {
      expect(evaluate(record(ro), ctx(u), T0 + 10 * MIN - 1)).toEqual({ value: "old", variant: "stable", reason: "scheduled_not_yet" });
    }
  });

  it("activates at exactly T (no percentage: everyone)", () => {
    expect(evaluate(record(ro), ctx("u1"), T0 + 10 * MIN)).toEqual({ value: "new", variant: "new", reason: "in_rollout" });
    expect(evaluate(record(ro), ctx("ea"), T0 + 10 * MIN)).toEqual({ value: "new", variant: "new", reason: "early_adopter" });
    expect(evaluate(record(ro), ctx("pin"), T0 + 10 * MIN)).toEqual({ value: "new", variant: "new", reason: "pinned" });
  });

  it("follows the plan's clock: a shift moves activation earlier", () => {
    const shifted = rollout(ro.plan, { ...ro.state, shiftMs: 4 * MIN });
    expect(evaluate(record(shifted), ctx("u1"), T0 + 6 * MIN - 1).reason).toBe("scheduled_not_yet");
    expect(evaluate(record(shifted), ctx("u1"), T0 + 6 * MIN).reason).toBe("in_rollout");
  });
});

describe("pinned units", () => {
  const ro = rollout({
    percentage: { ...steps10, start: 0, increment: 1, target: 1 },
    earlyAdopters: ["p-stable"],
    rules: [{ unitIdRegex: "^p-" }],
    pinned: [
      { unitId: "p-stable", serve: "stable" },
      { unitId: "p-new", serve: "new" },
      { unitId: "p-blue", serve: "blue" },
    ],
    variants: [
      { name: "blue", weight: 1, value: "B" },
      { name: "green", weight: 1, value: "G" },
    ],
    rings: { order: ["dev", "prod"], intervalMs: 0 },
  });

  it("serve stable, new or a variant, ahead of early adopters, rules, rings and the percentage", () => {
    expect(evaluate(record(ro), ctx("p-stable", "dev"), T0)).toEqual({ value: "old", variant: "stable", reason: "pinned" });
    expect(evaluate(record(ro), ctx("p-new", "prod"), T0)).toEqual({ value: "new", variant: "new", reason: "pinned" });
    expect(evaluate(record(ro), ctx("p-blue", "nowhere"), T0)).toEqual({ value: "B", variant: "blue", reason: "pinned" });
  });

  it("a pin naming a variant the plan lacks falls back to stable", () => {
    const odd = rollout({ pinned: [{ unitId: "x", serve: "purple" }] });
    expect(evaluate(record(odd), ctx("x"), T0)).toEqual({ value: "old", variant: "stable", reason: "pinned" });
  });
});

describe("early adopters", () => {
  it("get the new value at 0%, and in any environment", () => {
    const ro = rollout({ earlyAdopters: ["alice", "bob"], percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 60 * MIN }, rings: { order: ["dev", "prod"], intervalMs: 0 } });
    expect(evaluate(record(ro), ctx("alice", "prod"), T0)).toEqual({ value: "new", variant: "new", reason: "early_adopter" });
    expect(evaluate(record(ro), ctx("bob"), T0)).toEqual({ value: "new", variant: "new", reason: "early_adopter" });
    expect(evaluate(record(ro), ctx("carol", "dev"), T0)).toEqual({ value: "old", variant: "stable", reason: "out_of_rollout" });
  });

  it("get their weighted variant, still named early_adopter", () => {
    const ro = rollout({ earlyAdopters: ["alice"], variants: [{ name: "only", weight: 5, value: "O" }], percentage: { ...steps10, start: 0, increment: 1, target: 1 } });
    expect(evaluate(record(ro), ctx("alice"), T0)).toEqual({ value: "O", variant: "only", reason: "early_adopter" });
  });
});

describe("rules", () => {
  const at0 = { kind: "ramp" as const, from: 0, to: 0.001, startAt: T0, endAt: T0 + 1 };

  it("a unit id regex matches anywhere unless anchored", () => {
    const ro = rollout({ percentage: at0, rules: [{ unitIdRegex: "internal" }] });
    expect(evaluate(record(ro), ctx("bob@internal.example"), T0)).toEqual({ value: "new", variant: "new", reason: "rule_match" });
    const anchored = rollout({ percentage: at0, rules: [{ unitIdRegex: "^internal$" }] });
    expect(evaluate(record(anchored), ctx("bob@internal.example"), T0).reason).not.toBe("rule_match");
    expect(evaluate(record(anchored), ctx("internal"), T0).reason).toBe("rule_match");
  });

  it("any matching rule is enough; with no match the percentage decides", () => {
    const ro = rollout({ percentage: at0, rules: [{ unitIdRegex: "^qa-" }, { attribute: "country", op: "equals", values: ["NZ"] }] });
    expect(evaluate(record(ro), ctx("x", "", { country: "NZ" }), T0).reason).toBe("rule_match");
    expect(evaluate(record(ro), ctx("qa-7"), T0).reason).toBe("rule_match");
    const none = unitsWhere((b) => b >= 1, 1)[0]!;
    expect(evaluate(record(ro), ctx(none, "", { country: "AU" }), T0)).toEqual({ value: "old", variant: "stable", reason: "out_of_rollout" });
  });

  const table: [string, string[], Record<string, string>, boolean][] = [
    ["equals", ["NZ"], { c: "NZ" }, true],
    ["equals", ["NZ"], { c: "nz" }, false],
    ["equals", ["NZ"], {}, false],
    ["not_equals", ["NZ"], { c: "AU" }, true],
    ["not_equals", ["NZ"], { c: "NZ" }, false],
    ["not_equals", ["NZ"], {}, true],
    ["in", ["NZ", "AU"], { c: "AU" }, true],
    ["in", ["NZ", "AU"], { c: "US" }, false],
    ["in", ["NZ", "AU"], {}, false],
    ["not_in", ["NZ", "AU"], { c: "US" }, true],
    ["not_in", ["NZ", "AU"], { c: "NZ" }, false],
    ["not_in", ["NZ", "AU"], {}, true],
    ["in", ["\0absent"], {}, false],
    ["not_in", ["\0absent"], {}, true],
    ["semver_eq", ["2.3.1"], { c: "2.3.1" }, true],
    ["semver_eq", ["2.3.1"], { c: "2.3.10" }, false],
    ["semver_gt", ["2.3.1"], { c: "2.10.0" }, true],
    ["semver_gt", ["2.3.1"], { c: "2.3.1" }, false],
    ["semver_gte", ["2.3.1"], { c: "2.3.1" }, true],
    ["semver_gte", ["2.3.1"], { c: "2.3.0" }, false],
    ["semver_lt", ["2.3.1"], { c: "2.3.1-beta.1" }, true],
    ["semver_lt", ["2.3.1"], { c: "10.0.0" }, false],
    ["semver_lte", ["2.3.1"], { c: "2.3.1" }, true],
    ["semver_lte", ["2.3.1"], { c: "2.3.2" }, false],
    ["semver_gt", ["2.3.1"], { c: "not a version" }, false],
    ["semver_lt", ["2.3.1"], {}, false],
  ];
  it.each(table)("attribute %s %j against %j matches: %s", (op, values, attributes, match) => {
    const ro = rollout({ percentage: at0, rules: [{ attribute: "c", op: op as "equals", values }] });
    const unit = unitsWhere((b) => b >= 1, 1)[0]!;
    expect(evaluate(record(ro), ctx(unit, "", attributes), T0).reason).toBe(match ? "rule_match" : "out_of_rollout");
  });

  it("an attribute inherited from Object.prototype is not an attribute", () => {
    const ro = rollout({ percentage: at0, rules: [{ attribute: "constructor", op: "not_in", values: ["x"] }] });
    const unit = unitsWhere((b) => b >= 1, 1)[0]!;
    // absent counts as "not in", so it matches; what matters is no crash and a boolean answer
    expect(evaluate(record(ro), ctx(unit), T0).reason).toBe("rule_match");
    const eq = rollout({ percentage: at0, rules: [{ attribute: "toString", op: "in", values: ["function toString() { [native code] }"] }] });
    expect(evaluate(record(eq), ctx(unit), T0).reason).toBe("out_of_rollout");
  });
});

describe("rings", () => {
  const order = ["dev", "staging", "prod"];

  it("serve environments up to the current ring; others get ring_not_reached", () => {
    const ro = rollout({ rings: { order, intervalMs: 60 * MIN } });
    const at = (t: number, env: string): string => evaluate(record(ro), ctx("u1", env), t).reason;
    expect([at(T0, "dev"), at(T0, "staging"), at(T0, "prod"), at(T0, "qa")]).toEqual(["in_rollout", "ring_not_reached", "ring_not_reached", "ring_not_reached"]);
    expect([at(T0 + 60 * MIN - 1, "staging"), at(T0 + 60 * MIN, "staging"), at(T0 + 60 * MIN, "prod")]).toEqual(["ring_not_reached", "in_rollout", "ring_not_reached"]);
    expect([at(T0 + 120 * MIN, "dev"), at(T0 + 120 * MIN, "prod"), at(T0 + 999 * MIN, "prod"), at(T0 + 999 * MIN, "")]).toEqual([
      "in_rollout",
      "in_rollout",
      "in_rollout",
      "ring_not_reached",
    ]);
    expect(evaluate(record(ro), ctx("u1", "prod"), T0)).toEqual({ value: "old", variant: "stable", reason: "ring_not_reached" });
  });

  it("manual rings move only by promotion", () => {
    const ro = rollout({ rings: { order, intervalMs: 0 } });
    expect(evaluate(record(ro), ctx("u", "staging"), T0 + 9999 * MIN).reason).toBe("ring_not_reached");
    const promoted = rollout(ro.plan, { promotedRings: 1 });
    expect(evaluate(record(promoted), ctx("u", "staging"), T0).reason).toBe("in_rollout");
    expect(evaluate(record(promoted), ctx("u", "prod"), T0).reason).toBe("ring_not_reached");
    const beyond = rollout(ro.plan, { promotedRings: 7 });
    expect(evaluate(record(beyond), ctx("u", "prod"), T0).reason).toBe("in_rollout");
  });

  it("within a reached ring the percentage still decides", () => {
    const inside = unitsWhere((b) => b < 10_000, 1)[0]!;
    const outside = unitsWhere((b) => b >= 10_000, 1)[0]!;
    const ro = rollout({ rings: { order, intervalMs: 0 }, percentage: { ...steps10, target: 10, start: 0, increment: 10 } }, { startedAt: T0 - 5 * MIN });
    expect(evaluate(record(ro), ctx(inside, "dev"), T0).reason).toBe("in_rollout");
    expect(evaluate(record(ro), ctx(outside, "dev"), T0).reason).toBe("out_of_rollout");
    expect(evaluate(record(ro), ctx(inside, "prod"), T0).reason).toBe("ring_not_reached");
  });
});

describe("percentage", () => {
  it("a unit is in iff its bucket is below percent * 1000", () => {
    const ro = rollout({ percentage: steps10 });
    const low = unitsWhere((b) => b < 10_000, 5);
    const mid = unitsWhere((b) => b >= 10_000 && b < 20_000, 5);
    for (const u of low) expect(evaluate(record(ro), ctx(u), T0)).toEqual({ value: "new", variant: "new", reason: "in_rollout" });
    for (const u of mid) expect(evaluate(record(ro), ctx(u), T0)).toEqual({ value: "old", variant: "stable", reason: "out_of_rollout" });
    for (const u of mid) expect(evaluate(record(ro), ctx(u), T0 + 5 * MIN).reason).toBe("in_rollout");
    for (const u of mid) expect(evaluate(record(ro), ctx(u), T0 + 5 * MIN - 1).reason).toBe("out_of_rollout");
  });

  it("covers about the stated share of 4000 units at each step of 10 -> 100", () => {
    const ro = rollout({ percentage: steps10 });
    const units = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    for (let step = 0; step <= 9; step++) {
      const share = units.filter((u) => evaluate(record(ro), ctx(u), T0 + step * 5 * MIN).reason === "in_rollout").length / units.length;
      expect(share).toBeGreaterThan((10 + step * 10) / 100 - 0.03);
      expect(share).toBeLessThan((10 + step * 10) / 100 + 0.03);
    }
    expect(units.every((u) => evaluate(record(ro), ctx(u), T0 + 45 * MIN).reason === "in_rollout")).toBe(true);
  });

  it("no percentage means everyone (in the reached rings)", () => {
    expect(evaluate(record(rollout()), ctx("anyone"), T0)).toEqual({ value: "new", variant: "new", reason: "in_rollout" });
  });

  it("raising the percentage only adds units; ramping down removes the last units in first", () => {
    const up = rollout({ percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 100 * MIN } });
    const down = rollout({ percentage: { kind: "ramp", from: 100, to: 0, startAt: T0, endAt: T0 + 100 * MIN } });
    const units = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 * MIN }), fc.integer({ min: 0, max: 100 * MIN }), (a, b) => {
        const [t1, t2] = a <= b ? [a, b] : [b, a];
        for (const u of units) {
          if (evaluate(record(up), ctx(u), T0 + t1).reason === "in_rollout") expect(evaluate(record(up), ctx(u), T0 + t2).reason).toBe("in_rollout");
          if (evaluate(record(down), ctx(u), T0 + t2).reason === "in_rollout") expect(evaluate(record(down), ctx(u), T0 + t1).reason).toBe("in_rollout");
        }
      }),
      { numRuns: 40 },
    );
    // Who leaves first on the way down is who came in last on the way up: the highest buckets.
    const byBucket = [...units].sort((a, b) => bucket(SALT, b) - bucket(SALT, a));
    const firstToLeave = byBucket[0]!;
    const lastToLeave = byBucket[byBucket.length - 1]!;
    const leaveTime = (u: string): number => {
      for (let m = 0; m <= 100; m++) if (evaluate(record(down), ctx(u), T0 + m * MIN).reason === "out_of_rollout") return m;
      return 101;
    };
    const enterTime = (u: string): number => {
      for (let m = 0; m <= 100; m++) if (evaluate(record(up), ctx(u), T0 + m * MIN).reason === "in_rollout") return m;
      return 101;
    };
    expect(leaveTime(firstToLeave)).toBeLessThan(leaveTime(lastToLeave));
    expect(enterTime(firstToLeave)).toBeGreaterThan(enterTime(lastToLeave));
    expect(leaveTime(firstToLeave) + enterTime(firstToLeave)).toBeGreaterThanOrEqual(99);
    expect(leaveTime(firstToLeave) + enterTime(firstToLeave)).toBeLessThanOrEqual(101);
  });

  it("a paused rollout stays at the percentage it was paused at", () => {
    const mid = unitsWhere((b) => b >= 10_000 && b < 20_000, 3);
    const paused = rollout({ percentage: steps10 }, { pausedAt: T0 + 4 * MIN });
    for (const u of mid) expect(evaluate(record(paused), ctx(u), T0 + 500 * MIN).reason).toBe("out_of_rollout");
  });

  it("the salt, not the key, decides the buckets", () => {
    const a = rollout({ percentage: { kind: "ramp", from: 50, to: 50.001, startAt: T0, endAt: T0 + 1 }, salt: "salt-a" });
    const b = rollout({ percentage: a.plan.percentage!, salt: "salt-b" });
    const units = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const inA = units.filter((u) => evaluate(record(a), ctx(u), T0).reason === "in_rollout");
    const inB = units.filter((u) => evaluate(record(b), ctx(u), T0).reason === "in_rollout");
    expect(inA).toEqual(units.filter((u) => bucket("salt-a", u) < 50_000));
    expect(inB).not.toEqual(inA);
  });
});

describe("variants", () => {
  const variants = [
    { name: "blue", weight: 1, value: { color: "blue" } },
    { name: "green", weight: 3, value: { color: "green" } },
    { name: "never", weight: 0, value: { color: "none" } },
  ];

  it("units in the rollout get a variant by weight, reason variant", () => {
    const ro = rollout({ variants });
    const units = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const got = units.map((u) => evaluate(record(ro), ctx(u), T0));
    expect(got.every((g) => g.reason === "variant")).toBe(true);
    const blue = got.filter((g) => g.variant === "blue");
    expect(blue[0]!.value).toEqual({ color: "blue" });
    expect(got.filter((g) => g.variant === "never")).toEqual([]);
    expect(blue.length / units.length).toBeGreaterThan(0.22);
    expect(blue.length / units.length).toBeLessThan(0.28);
    expect(got.filter((g) => g.variant === "green").length).toBe(units.length - blue.length);
    // the boundary: variant buckets below 25000 are blue
    for (const u of units.slice(0, 50)) expect(evaluate(record(ro), ctx(u), T0).variant).toBe(variantBucket(SALT, u) < 25_000 ? "blue" : "green");
  });

  it("are sticky: a unit keeps its variant as the percentage rises", () => {
    const ro = rollout({ variants, percentage: steps10 });
    const units = Array.from({ length: 500 }, (_, i) => `user-${i}`);
    const first = new Map<string, string>();
    for (let step = 0; step <= 9; step++) {
      for (const u of units) {
        const r = evaluate(record(ro), ctx(u), T0 + step * 5 * MIN);
        if (r.reason !== "variant") continue;
        const before = first.get(u);
        if (before === undefined) first.set(u, r.variant);
        else expect(r.variant).toBe(before);
      }
    }
    expect(first.size).toBe(units.length);
  });

  it("assignment is independent of canary membership", () => {
    const ro = rollout({ variants: [variants[0]!, variants[1]!], percentage: { kind: "ramp", from: 25, to: 26, startAt: T0, endAt: T0 + MIN } });
    const units = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const inside = units.map((u) => evaluate(record(ro), ctx(u), T0)).filter((r) => r.reason === "variant");
    const blueShare = inside.filter((r) => r.variant === "blue").length / inside.length;
    // With canary-correlated hashing the 25% inside would all be one variant.
    expect(blueShare).toBeGreaterThan(0.18);
    expect(blueShare).toBeLessThan(0.32);
  });
});

describe("numeric interpolation", () => {
  it("moves every unit between stable and new; integers stay integers", () => {
    const ro = rollout({ stable: 10, interpolate: true, percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 300 * MIN } });
    const at = (m: number, u = "any"): ReturnType<typeof evaluate> => evaluate(record(ro, 40), ctx(u), T0 + m * MIN);
    expect(at(0)).toEqual({ value: 10, variant: "new", reason: "in_rollout" });
    expect(at(100)).toEqual({ value: 20, variant: "new", reason: "in_rollout" });
    expect(at(101).value).toBe(20); // 20.1 rounds to 20
    expect(at(105).value).toBe(21); // 20.5 rounds half up
    expect(at(150)).toEqual(at(150, "someone-else"));
    expect(at(300).value).toBe(40);
    expect(at(999).value).toBe(40);
  });

  it("keeps fractions when either end is fractional, and counts down too", () => {
    const ro = rollout({ stable: 1.5, interpolate: true, percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 100 * MIN } });
    expect(evaluate(record(ro, 2), ctx("u"), T0 + 25 * MIN).value).toBe(1.625);
    const down = rollout({ stable: 100, interpolate: true, percentage: { kind: "steps", start: 0, increment: 25, intervalMs: MIN, target: 100 } });
    expect([0, 1, 2, 3, 4].map((m) => evaluate(record(down, 0), ctx("u"), T0 + m * MIN).value)).toEqual([100, 75, 50, 25, 0]);
  });

  it("is gated by rings and skipped for early adopters and pins", () => {
    const ro = rollout({ stable: 10, interpolate: true, earlyAdopters: ["ea"], rings: { order: ["dev", "prod"], intervalMs: 0 }, percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 100 * MIN } });
    expect(evaluate(record(ro, 20), ctx("u", "prod"), T0 + 50 * MIN)).toEqual({ value: 10, variant: "stable", reason: "ring_not_reached" });
    expect(evaluate(record(ro, 20), ctx("u", "dev"), T0 + 50 * MIN).value).toBe(15);
    expect(evaluate(record(ro, 20), ctx("ea", "prod"), T0)).toEqual({ value: 20, variant: "new", reason: "early_adopter" });
  });

  it("only applies when both values are numbers", () => {
    const ro = rollout({ stable: "ten", interpolate: true });
    expect(evaluate(record(ro, 20), ctx("u"), T0)).toEqual({ value: 20, variant: "new", reason: "in_rollout" });
  });
});

describe("determinism and trace", () => {
  it("is a pure function of (record, context, time)", () => {
    const ro = rollout({ percentage: steps10, variants: [{ name: "a", weight: 1, value: 1 }, { name: "b", weight: 1, value: 2 }], rings: { order: ["dev", "prod"], intervalMs: 7 * MIN } });
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("dev", "prod", "x"), fc.integer({ min: -MIN, max: 90 * MIN }), (u, env, dt) => {
        const a = evaluate(record(ro), ctx(u, env), T0 + dt);
        const b = evaluate(structuredClone(record(ro)), ctx(u, env), T0 + dt);
        expect(b).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it("explains the decision in words", () => {
    const ro = rollout({ percentage: steps10, rings: { order: ["dev", "prod"], intervalMs: 0 } });
    const out = unitsWhere((b) => b >= 10_000, 1)[0]!;
    const trace: string[] = [];
    evaluate(record(ro), ctx(out, "dev"), T0, trace);
    expect(trace).toEqual([`environment "dev" is within the current ring dev`, `bucket ${bucket(SALT, out)} is outside 10% (threshold 10000)`]);
    const t2: string[] = [];
    evaluate(record(ro), ctx(out, "prod"), T0, t2);
    expect(t2).toEqual([`environment "prod" is ring 2; the rollout is at ring 1 (dev)`]);
  });
});
