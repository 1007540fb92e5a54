import { describe, expect, it } from "vitest";
import { ANSWERS_PER_RULE, cachedVersions, compiled, compileRule, MAX_CACHED_CHARS, UNIT_FACTS_PER_PLAN } from "./compiled-plan.js";
import type { Rollout } from "./plan.js";

describe("attribute rules read only the context's own string attributes", () => {
  it("an inherited property such as constructor is absent, not a value", () => {
    const eq = compileRule({ attribute: "constructor", op: "not_equals", values: ["x"] });
    const inList = compileRule({ attribute: "toString", op: "in", values: ["x"] });
    const notIn = compileRule({ attribute: "constructor", op: "not_in", values: ["x"] });
    expect(eq("u", {})).toBe(true);
    expect(inList("u", {})).toBe(false);
    expect(notIn("u", {})).toBe(true);
    expect(compileRule({ attribute: "constructor", op: "equals", values: ["x"] })("u", { constructor: "x" } as Record<string, string>)).toBe(true);
  });

  it("semver rules compare parsed versions and treat non-versions as absent", () => {
    const gte = compileRule({ attribute: "v", op: "semver_gte", values: ["2.0.0"] });
    const lt = compileRule({ attribute: "v", op: "semver_lt", values: ["2.0.0"] });
    expect([gte("u", { v: "2.0.0" }), gte("u", { v: "10.1.0" }), gte("u", { v: "1.9.9" }), gte("u", { v: "banana" }), gte("u", {})]).toEqual([true, true, false, false, false]);
    expect([lt("u", { v: "1.9.9" }), lt("u", { v: "2.0.0-rc.1" }), lt("u", { v: "2.0.0" }), lt("u", { v: "banana" })]).toEqual([true, true, false, false]);
  });
});

describe("caches keyed by what a client sends are bounded in count and in the length of what they keep", () => {
  const rollout = (salt: string): Rollout => ({
    plan: { stable: 1, salt, earlyAdopters: [], pinned: [], rules: [], variants: [{ name: "a", weight: 1, value: 2 }], interpolate: false },
    state: { startedAt: 0, milestones: 0, killed: false },
  }) as unknown as Rollout;

  it("a plan remembers at most UNIT_FACTS_PER_PLAN units, and never a unit id longer than MAX_CACHED_CHARS", () => {
    const c = compiled(rollout("facts"));
    const long = "u".repeat(MAX_CACHED_CHARS + 1);
    const f = c.facts(long);
    expect(c.cachedUnits).toBe(0);
    // Still answered, and the same answer every time.
    expect(c.facts(long)).toEqual(f);
    for (let i = 0; i < UNIT_FACTS_PER_PLAN + 10; i++) c.facts(`user-${i}`);
    expect(c.cachedUnits).toBeLessThanOrEqual(UNIT_FACTS_PER_PLAN);
    expect(c.cachedUnits).toBeGreaterThan(0);
  });

  it("a semver rule remembers at most ANSWERS_PER_RULE short version strings; the shared parse cache skips long ones", () => {
    const gte = compileRule({ attribute: "v", op: "semver_gte", values: ["2.0.0"] });
    const parsedBefore = cachedVersions();
    expect(gte("u", { v: `1.0.0-${"x".repeat(MAX_CACHED_CHARS)}` })).toBe(false);
    expect(gte.cachedAnswers!()).toBe(0);
    expect(cachedVersions()).toBe(parsedBefore);
    for (let i = 0; i < ANSWERS_PER_RULE * 3; i++) expect(gte("u", { v: `3.0.${i}` })).toBe(true);
    expect(gte.cachedAnswers!()).toBeLessThanOrEqual(ANSWERS_PER_RULE);
    expect(gte.cachedAnswers!()).toBeGreaterThan(0);
    expect(cachedVersions()).toBeLessThanOrEqual(10_000);
    // Answers after a clear are the same answers.
    expect([gte("u", { v: "3.0.0" }), gte("u", { v: "1.9.9" })]).toEqual([true, false]);
  });
});
