import { describe, expect, it } from "vitest";
import { HealthAction } from "../../src/gen/ctm/v1/health_check_service.js";
import { ValueType } from "../../src/gen/ctm/v1/validator_service.js";
import { describeCheck } from "../../src/cli/format/describe-check.js";
import { describeRule } from "../../src/cli/format/describe-rule.js";
import { checkFromFlags, checkFromJson, healthFlagsProblem, parseRate } from "../../src/cli/parse/health-flags.js";
import { RuleCollector, validatorFromJson } from "../../src/cli/parse/validator-flags.js";

describe("safety CLI parsers and formatters", () => {
  it("RuleCollector keeps command-line order, each rule at the --path before it", async () => {
    const r = new RuleCollector();
    r.type("integer");
    r.setPath("/a");
    r.range("1,");
    r.oneOf('"x",2,{"k":[1]}');
    r.setPath("");
    r.regex("^v[0-9]+$");
    expect(r.problem()).toBeUndefined();
    expect(await r.rules()).toEqual([
      { path: "", rule: { $case: "type", value: ValueType.VALUE_TYPE_INTEGER } },
      { path: "/a", rule: { $case: "range", value: { min: 1, max: undefined } } },
      { path: "/a", rule: { $case: "oneOf", value: { values: ["x", 2, { k: [1] }] } } },
      { path: "", rule: { $case: "regex", value: "^v[0-9]+$" } },
    ]);
    r.setPath("/dangling");
    expect(r.problem()).toMatch(/--path "\/dangling" applies to the rule flags after it/);
  });

  it("RuleCollector refuses malformed flag values", () => {
    const r = new RuleCollector();
    expect(() => r.type("int")).toThrow(/not one of string, number, integer/);
    expect(() => r.range("1")).toThrow(/expected min,max/);
    expect(() => r.range(",")).toThrow(/give a min, a max or both/);
    expect(() => r.range("9,1")).toThrow(/min 9 is above max 1/);
    expect(() => r.oneOf("red,green")).toThrow(/quote strings/);
    expect(() => r.setPath("a/b")).toThrow(/not a JSON Pointer/);
    expect(r.specs).toEqual([]);
  });

  it("validatorFromJson takes proto JSON, snake_case, lowercase types and a {validator} wrapper; an unknown type is INVALID_ARGUMENT", () => {
    const v = validatorFromJson({ validator: { name: "n", keys: ["a.*"], rules: [{ path: "/x", type: "string" }, { one_of: { values: [1] } }, { json_schema: { type: "object" } }] } }, "f.json");
    expect(v.rules).toEqual([
      { path: "/x", rule: { $case: "type", value: ValueType.VALUE_TYPE_STRING } },
      { path: "", rule: { $case: "oneOf", value: { values: [1] } } },
      { path: "", rule: { $case: "jsonSchema", value: { type: "object" } } },
    ]);
    expect(() => validatorFromJson({ name: "n", rules: [{ type: "text" }] }, "f.json")).toThrow(/^f\.json: rules\[0\]\.type: "text" is not one of/);
    expect(() => validatorFromJson([1], "f.json")).toThrow(/must be a JSON object/);
  });

  it("describeRule says what a rule checks", () => {
    expect(describeRule({ path: "", rule: { $case: "range", value: { min: 1, max: 5 } } })).toBe("range 1..5");
    expect(describeRule({ path: "/p", rule: { $case: "range", value: { max: 5 } } })).toBe("/p: range <= 5");
    expect(describeRule({ path: "", rule: { $case: "type", value: ValueType.VALUE_TYPE_NULL } })).toBe("type null");
    expect(describeRule({ path: "", rule: { $case: "regex", value: "^a" } })).toBe("regex /^a/");
    expect(describeRule({ path: "", rule: { $case: "oneOf", value: { values: ["a", "b"] } } })).toBe('one of ["a","b"]');
  });

  it("parseRate takes 0..1 or a percentage", () => {
    expect(parseRate("0.05")).toBe(0.05);
    expect(parseRate("5%")).toBeCloseTo(0.05);
    expect(parseRate("0")).toBe(0);
    for (const bad of ["", "%", "1.5", "-0.1", "150%", "lots"]) expect(() => parseRate(bad), bad).toThrow(/not a rate/);
  });

  it("health flags: one source, its own options, and a threshold; checkFromFlags builds the HealthCheck", () => {
    expect(healthFlagsProblem({ maxErrorRate: 0.1 })).toMatch(/give a source/);
    expect(healthFlagsProblem({ pushed: true })).toMatch(/--max-error-rate/);
    expect(healthFlagsProblem({ pushed: true, maxLatency: 5, maxErrorRate: 0.1 })).toMatch(/need --http/);
    expect(healthFlagsProblem({ prometheus: "http://p", maxErrorRate: 0.1 })).toMatch(/needs --query/);
    expect(healthFlagsProblem({ file: "c.json" })).toBeUndefined();
    const c = checkFromFlags("probe", { keys: ["a.*"], http: "http://h/x", maxLatency: 1500, maxErrorRate: 0.2, window: 30_000, action: "pause", bake: 600_000 });
    expect(c).toEqual({
      name: "probe",
      keys: ["a.*"],
      source: { $case: "http", value: { url: "http://h/x", expectStatus: 0, maxLatency: { seconds: 1, nanos: 500_000_000 } } },
      maxErrorRate: 0.2,
      maxIncrease: 0,
      window: { seconds: 30, nanos: 0 },
      minSamples: 0,
      failuresToAct: 0,
      action: HealthAction.HEALTH_ACTION_PAUSE,
      bakeTime: { seconds: 600, nanos: 0 },
    });
    expect(describeCheck({ ...c, minSamples: 20, failuresToAct: 3 })).toBe(
      "keys a.*; http http://h/x (status 200, within 1.5s); fails when canary > 20%; window 30s, min 20 samples; pause after 3 failing ticks; bake 10m",
    );
  });

  it("checkFromJson takes canonical proto JSON durations (\"60s\") and rollback/pause actions", () => {
    const c = checkFromJson({ check: { name: "x", keys: ["k"], http: { url: "http://h", max_latency: "0.5s" }, window: "60s", bake_time: "10m", action: "pause" } }, "c.json");
    expect(c.source).toEqual({ $case: "http", value: { url: "http://h", expectStatus: 0, maxLatency: { seconds: 0, nanos: 500_000_000 } } });
    expect(c.window).toEqual({ seconds: 60, nanos: 0 });
    expect(c.bakeTime).toEqual({ seconds: 600, nanos: 0 });
    expect(c.action).toBe(HealthAction.HEALTH_ACTION_PAUSE);
    expect(() => checkFromJson({ name: "x", action: "explode" }, "c.json")).toThrow(/c\.json\.action: "explode" is not rollback or pause/);
    expect(() => checkFromJson({ name: "x", window: "soon" }, "c.json")).toThrow(/^c\.json\.window: /);
  });
});
