import { describe, expect, it } from "vitest";
import { CtmError } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { buildRollout, ROLLOUT_LIMITS, type RolloutInput } from "./build-rollout.js";

const NOW = Date.UTC(2024, 0, 1);
const MIN = 60_000;

const build = (input: RolloutInput, ctx: { value?: JsonValue; currentStable?: JsonValue } = {}) =>
  buildRollout(input, { key: "checkout.flow", value: "value" in ctx ? ctx.value! : "new", currentStable: "currentStable" in ctx ? ctx.currentStable : "old", now: NOW });

function rejects(input: RolloutInput, field: string, text?: RegExp, ctx: { value?: JsonValue; currentStable?: JsonValue } = {}): CtmError {
  let caught: unknown;
  try {
    build(input, ctx);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${field} to be rejected`).toBeInstanceOf(CtmError);
  const err = caught as CtmError;
  expect({ code: err.code, field: err.field }).toEqual({ code: "invalid_argument", field });
  expect(err.message.startsWith(`${field}: `)).toBe(true);
  if (text) expect(err.message).toMatch(text);
  return err;
}

describe("defaults", () => {
  it("stable is the current value, the salt the key, the origin now", () => {
    expect(build({})).toEqual({
      plan: { stable: "old", salt: "checkout.flow", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false },
      state: { startedAt: NOW, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0 },
    });
  });

  it("an explicit stable and salt win; an empty salt means the key", () => {
    expect(build({ stable: { v: 1 }, salt: "s" }).plan).toMatchObject({ stable: { v: 1 }, salt: "s" });
    expect(build({ salt: "" }).plan.salt).toBe("checkout.flow");
  });

  it("stable is required when the key has no value yet", () => {
    rejects({}, "rollout.stable", /required/, { currentStable: undefined });
    expect(build({ stable: 0 }, { currentStable: undefined }).plan.stable).toBe(0);
  });

  it("an activation time is the origin", () => {
    const ro = build({ activateAt: NOW + 60 * MIN, percentage: { kind: "steps", start: 10, increment: 10, intervalMs: MIN, target: 100 } });
    expect(ro.plan.activateAt).toBe(NOW + 60 * MIN);
    expect(ro.state.startedAt).toBe(NOW + 60 * MIN);
  });

  it("does not keep references to the input", () => {
    const input: RolloutInput = { earlyAdopters: ["a", "a", "b"], rings: { order: ["dev", "prod"] } };
    const ro = build(input);
    expect(ro.plan.earlyAdopters).toEqual(["a", "b"]);
    input.rings!.order.push("moon");
    expect(ro.plan.rings).toEqual({ order: ["dev", "prod"], intervalMs: 0 });
  });
});

describe("steps", () => {
  it("are kept as given, including a ramp down", () => {
    expect(build({ percentage: { kind: "steps", start: 10, increment: 10, intervalMs: 5 * MIN, target: 100 } }).plan.percentage).toEqual({
      kind: "steps",
      start: 10,
      increment: 10,
      intervalMs: 5 * MIN,
      target: 100,
    });
    expect(build({ percentage: { kind: "steps", start: 100, increment: -20, intervalMs: MIN, target: 0 } }).plan.percentage).toMatchObject({ increment: -20 });
  });

  it.each([
    [{ start: -1, increment: 10, intervalMs: MIN, target: 100 }, "rollout.steps.start"],
    [{ start: 10, increment: 10, intervalMs: MIN, target: 101 }, "rollout.steps.target"],
    [{ start: NaN, increment: 10, intervalMs: MIN, target: 100 }, "rollout.steps.start"],
    [{ start: 10, increment: 10, intervalMs: 0, target: 100 }, "rollout.steps.interval"],
    [{ start: 10, increment: 10, intervalMs: -5, target: 100 }, "rollout.steps.interval"],
    [{ start: 10, increment: 10, intervalMs: MIN, target: 10 }, "rollout.steps.target"],
    [{ start: 10, increment: 0, intervalMs: MIN, target: 100 }, "rollout.steps.increment"],
    [{ start: 10, increment: -10, intervalMs: MIN, target: 100 }, "rollout.steps.increment"],
    [{ start: 100, increment: 10, intervalMs: MIN, target: 0 }, "rollout.steps.increment"],
    [{ start: 0, increment: 0.001, intervalMs: MIN, target: 100 }, "rollout.steps.increment"],
  ])("%j is rejected naming %s", (p, field) => {
    rejects({ percentage: { kind: "steps", ...p } }, field);
  });

  it("allows exactly the step limit", () => {
    expect(() => build({ percentage: { kind: "steps", start: 0, increment: 100 / ROLLOUT_LIMITS.steps, intervalMs: MIN, target: 100 } })).not.toThrow();
  });
});

describe("linear ramp", () => {
  const r = (p: { startAt?: number; endAt?: number; durationMs?: number; from?: number; to?: number }): RolloutInput => ({ percentage: { kind: "ramp", from: 0, to: 100, ...p } });

  it("start + end", () => {
    expect(build(r({ startAt: NOW + MIN, endAt: NOW + 61 * MIN })).plan.percentage).toEqual({ kind: "ramp", from: 0, to: 100, startAt: NOW + MIN, endAt: NOW + 61 * MIN });
  });

  it("end + duration", () => {
    expect(build(r({ endAt: NOW + 72 * 60 * MIN, durationMs: 72 * 60 * MIN })).plan.percentage).toMatchObject({ startAt: NOW, endAt: NOW + 72 * 60 * MIN });
  });

  it("start + duration", () => {
    expect(build(r({ startAt: NOW + 5 * MIN, durationMs: 10 * MIN })).plan.percentage).toMatchObject({ startAt: NOW + 5 * MIN, endAt: NOW + 15 * MIN });
  });

  it("duration alone starts at the origin (now, or the activation)", () => {
    expect(build(r({ durationMs: 10 * MIN })).plan.percentage).toMatchObject({ startAt: NOW, endAt: NOW + 10 * MIN });
    expect(build({ ...r({ durationMs: 10 * MIN }), activateAt: NOW + MIN }).plan.percentage).toMatchObject({ startAt: NOW + MIN, endAt: NOW + 11 * MIN });
  });

  it("ramps down", () => {
    expect(build(r({ from: 100, to: 0, durationMs: MIN })).plan.percentage).toMatchObject({ from: 100, to: 0 });
  });

  it.each([
    [{ startAt: NOW, endAt: NOW + MIN, durationMs: MIN }, "rollout.ramp", /two of/],
    [{ startAt: NOW }, "rollout.ramp.end_time", /or duration is required/],
    [{}, "rollout.ramp.end_time", /or duration is required/],
    [{ startAt: NOW, endAt: NOW }, "rollout.ramp.end_time", /after start_time/],
    [{ startAt: NOW, endAt: NOW - 1 }, "rollout.ramp.end_time", /after start_time/],
    [{ durationMs: 0 }, "rollout.ramp.duration", /positive/],
    [{ durationMs: -MIN }, "rollout.ramp.duration", /positive/],
    [{ durationMs: MIN, from: 50, to: 50 }, "rollout.ramp.to", /differ/],
    [{ durationMs: MIN, from: -1 }, "rollout.ramp.from", /percentage/],
    [{ durationMs: MIN, to: 100.5 }, "rollout.ramp.to", /percentage/],
  ])("%j is rejected naming %s", (p, field, text) => {
    rejects(r(p), field, text);
  });
});

describe("unit id regex rules (RE2)", () => {
  it("accepts linear-time patterns", () => {
    expect(build({ rules: [{ unitIdRegex: "^user-[0-9]+@example\\.com$" }, { unitIdRegex: "(?i)qa" }] }).plan.rules).toEqual([
      { unitIdRegex: "^user-[0-9]+@example\\.com$" },
      { unitIdRegex: "(?i)qa" },
    ]);
  });

  it.each([
    ["(a+)\\1", /invalid escape sequence/],
    ["^(\\w+)\\s\\1$", /invalid escape sequence/],
    ["(?=admin)\\w+", /unsupported Perl syntax/],
    ["(?!guest)\\w+", /unsupported Perl syntax/],
    ["(?<=x)y", /RE2/],
    ["a{1001}", /about 1003 instructions; the limit is 1000/],
    ["[\\p{L}]{1,600}", /instructions; the limit is 1000/],
    ["[unclosed", /missing closing \]/],
  ])("rejects %s as invalid_argument naming the field", (pattern, text) => {
    const err = rejects({ rules: [{ unitIdRegex: "^ok$" }, { unitIdRegex: pattern }] }, "rollout.rules[1].unit_id_regex", /not a linear-time \(RE2\) regex/);
    expect(err.message).toMatch(text);
  });

  it("rejects patterns over the length limit", () => {
    rejects({ rules: [{ unitIdRegex: "a".repeat(ROLLOUT_LIMITS.regexChars + 1) }] }, "rollout.rules[0].unit_id_regex", /at most 512/);
    expect(() => build({ rules: [{ unitIdRegex: "a".repeat(ROLLOUT_LIMITS.regexChars) }] })).not.toThrow();
  });
});

describe("attribute rules", () => {
  it("keeps a copy of each rule", () => {
    const values = ["NZ", "AU"];
    const ro = build({ rules: [{ attribute: "country", op: "in", values }, { attribute: "app_version", op: "semver_gte", values: ["2.3.0"] }] });
    values.push("US");
    expect(ro.plan.rules).toEqual([
      { attribute: "country", op: "in", values: ["NZ", "AU"] },
      { attribute: "app_version", op: "semver_gte", values: ["2.3.0"] },
    ]);
  });

  it.each([
    [{ attribute: "", op: "equals" as const, values: ["x"] }, "rollout.rules[0].attribute.attribute"],
    [{ attribute: "a", op: undefined, values: ["x"] }, "rollout.rules[0].attribute.operator"],
    [{ attribute: "a", op: "equals" as const, values: ["x", "y"] }, "rollout.rules[0].attribute.values"],
    [{ attribute: "a", op: "semver_gt" as const, values: [] }, "rollout.rules[0].attribute.values"],
    [{ attribute: "a", op: "in" as const, values: [] }, "rollout.rules[0].attribute.values"],
    [{ attribute: "a", op: "semver_lt" as const, values: ["two"] }, "rollout.rules[0].attribute.values"],
  ])("%j is rejected naming %s", (rule, field) => {
    rejects({ rules: [rule] }, field);
  });

  it("caps the number of rules", () => {
    rejects({ rules: Array.from({ length: ROLLOUT_LIMITS.rules + 1 }, () => ({ unitIdRegex: "x" })) }, "rollout.rules", /at most 100/);
  });
});

describe("pinned units, early adopters, variants", () => {
  const variants = [
    { name: "blue", weight: 1, value: "B" },
    { name: "green", weight: 0, value: "G" },
  ];

  it("pins may serve stable, new or a variant", () => {
    const pinned = [
      { unitId: "a", serve: "stable" },
      { unitId: "b", serve: "new" },
      { unitId: "c", serve: "blue" },
    ];
    expect(build({ pinned, variants }).plan.pinned).toEqual(pinned);
  });

  it.each([
    [{ pinned: [{ unitId: "a", serve: "purple" }] }, "rollout.pinned[0].serve"],
    [{ pinned: [{ unitId: "a", serve: "stable" }, { unitId: "", serve: "new" }] }, "rollout.pinned[1].unit_id"],
    [{ pinned: [{ unitId: "a", serve: "stable" }, { unitId: "a", serve: "new" }] }, "rollout.pinned"],
    [{ earlyAdopters: ["a", ""] }, "rollout.early_adopters[1]"],
    [{ variants: [{ name: "", weight: 1, value: 1 }] }, "rollout.variants[0].name"],
    [{ variants: [{ name: "stable", weight: 1, value: 1 }] }, "rollout.variants[0].name"],
    [{ variants: [{ name: "new", weight: 1, value: 1 }] }, "rollout.variants[0].name"],
    [{ variants: [{ name: "a", weight: 1, value: 1 }, { name: "a", weight: 1, value: 2 }] }, "rollout.variants[1].name"],
    [{ variants: [{ name: "a", weight: -1, value: 1 }] }, "rollout.variants[0].weight"],
    [{ variants: [{ name: "a", weight: 1.5, value: 1 }] }, "rollout.variants[0].weight"],
    [{ variants: [{ name: "a", weight: 0, value: 1 }] }, "rollout.variants"],
    [{ variants: [{ name: "a", weight: 1, value: NaN }] }, "rollout.variants[0].value"],
    [{ earlyAdopters: Array.from({ length: ROLLOUT_LIMITS.listEntries + 1 }, (_, i) => `u${i}`) }, "rollout.early_adopters"],
  ] as [RolloutInput, string][])("%# rejects naming %s", (input, field) => {
    rejects(input, field);
  });
});

describe("rings", () => {
  it("keep their order; no interval means promoted by hand; an empty order means no rings", () => {
    expect(build({ rings: { order: ["dev", "staging", "prod"], intervalMs: 30 * MIN } }).plan.rings).toEqual({ order: ["dev", "staging", "prod"], intervalMs: 30 * MIN });
    expect(build({ rings: { order: ["dev", "prod"] } }).plan.rings).toEqual({ order: ["dev", "prod"], intervalMs: 0 });
    expect(Object.hasOwn(build({ rings: { order: [] } }).plan, "rings")).toBe(false);
  });

  it.each([
    [{ order: ["dev", "dev"] }, "rollout.rings.order"],
    [{ order: ["dev", ""] }, "rollout.rings.order"],
    [{ order: Array.from({ length: ROLLOUT_LIMITS.rings + 1 }, (_, i) => `r${i}`) }, "rollout.rings.order"],
    [{ order: ["dev"], intervalMs: -1 }, "rollout.rings.interval"],
  ])("%j is rejected naming %s", (rings, field) => {
    rejects({ rings }, field);
  });
});

describe("interpolation and salt", () => {
  it("needs numbers at both ends", () => {
    expect(build({ interpolate: true, stable: 10 }, { value: 20 }).plan.interpolate).toBe(true);
    rejects({ interpolate: true, stable: "10" }, "rollout.interpolate", /number/, { value: 20 });
    rejects({ interpolate: true, stable: 10 }, "rollout.interpolate", /number/, { value: "20" });
  });

  it("a salt is at most 256 characters", () => {
    rejects({ salt: "s".repeat(257) }, "rollout.salt");
    expect(build({ salt: "s".repeat(256) }).plan.salt).toHaveLength(256);
  });
});
