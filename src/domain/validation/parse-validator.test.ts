import { describe, expect, it } from "vitest";
import { CtmError } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { healthCheckFromJson } from "../health/parse-health-check.js";
import { checkReservedWrite } from "./reserved-document.js";
import { validatorFromJson } from "./parse-validator.js";

function refusal(f: () => unknown): { field: string | undefined; message: string } {
  try {
    f();
  } catch (e) {
    if (!(e instanceof CtmError) || e.code !== "invalid_argument") throw e;
    return { field: e.field, message: e.message };
  }
  throw new Error("expected INVALID_ARGUMENT");
}

const GOOD = { keys: ["svc/*"], rules: [{ path: "/n", kind: "range", min: 1 }], description: "d" };

describe("validator documents (raw writes of _ctm/validators/<name>)", () => {
  it("a valid document reads back as the definition; path defaults to the whole value", () => {
    expect(validatorFromJson("v", GOOD)).toEqual({ name: "v", ...GOOD });
    expect(validatorFromJson("v", { keys: ["k"], rules: [{ kind: "type", type: "string" }] })).toEqual({ name: "v", keys: ["k"], rules: [{ kind: "type", type: "string", path: "" }], description: "" });
  });

  it.each<[string, JsonValue, string, RegExp]>([
    ["an unknown rule kind", { ...GOOD, rules: [GOOD.rules[0]!, { path: "", kind: "exotic" }] }, "operations[1].set.value.rules[1].kind", /must be one of "type", "range", "one_of", "regex", "json_schema"/],
    ["a rule without its setting", { ...GOOD, rules: [{ path: "", kind: "regex" }] }, "operations[1].set.value.rules[0].pattern", /is required/],
    ["an unknown member", { ...GOOD, extra: 1 }, "operations[1].set.value.extra", /is not a known member/],
    ["a member of a rule of the wrong type", { ...GOOD, rules: [{ path: "", kind: "range", min: "1" }] }, "operations[1].set.value.rules[0].min", /must be number/],
    ["no keys", { rules: GOOD.rules }, "operations[1].set.value.keys", /is required/],
    ["not an object", [1, 2], "operations[1].set.value", /must be object/],
    ["a glob with characters no key holds", { ...GOOD, keys: ["svc/{a,b}"] }, "operations[1].set.value.keys[0]", /key characters/],
    ["a regex RE2 cannot run", { ...GOOD, rules: [{ path: "", kind: "regex", pattern: "(a)\\1" }] }, "operations[1].set.value.rules[0].pattern", /is not a linear-time \(RE2\) regex/],
    ["a JSON Schema with a lookahead", { ...GOOD, rules: [{ path: "", kind: "json_schema", schema: { pattern: "(?!x)" } }] }, "operations[1].set.value.rules[0].schema", /at \/pattern: .*not a linear-time/],
  ])("%s is refused, naming the member", (_name, doc, field, message) => {
    const e = refusal(() => validatorFromJson("v", doc, "operations[1].set.value"));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });
});

describe("health check documents (raw writes of _ctm/health/<name>)", () => {
  it("a minimal document takes the RPC's defaults", () => {
    expect(healthCheckFromJson("c", { keys: ["a.*"], maxErrorRate: 0.1 })).toEqual({
      name: "c",
      keys: ["a.*"],
      source: { kind: "pushed" },
      maxErrorRate: 0.1,
      maxIncrease: 0,
      windowMs: 60_000,
      minSamples: 20,
      failuresToAct: 3,
      action: "rollback",
      bakeMs: 0,
    });
  });

  it.each<[string, JsonValue, string, RegExp]>([
    ["an unknown source", { keys: ["a"], maxErrorRate: 0.1, source: { kind: "carrier-pigeon" } }, "value.source.kind", /must be one of "pushed", "http", "prometheus"/],
    ["an http source without a url", { keys: ["a"], maxErrorRate: 0.1, source: { kind: "http" } }, "value.source.url", /is required/],
    ["an unknown action", { keys: ["a"], maxErrorRate: 0.1, action: "explode" }, "value.action", /must be equal to one of the allowed values/],
    ["a rate above 1", { keys: ["a"], maxErrorRate: 3 }, "value.maxErrorRate", /must be <= 1/],
    ["a string window", { keys: ["a"], maxErrorRate: 0.1, windowMs: "1m" }, "value.windowMs", /must be number/],
    ["fractional samples", { keys: ["a"], maxErrorRate: 0.1, minSamples: 2.5 }, "value.minSamples", /must be integer/],
    ["an unknown member", { keys: ["a"], maxErrorRate: 0.1, treshold: 1 }, "value.treshold", /is not a known member/],
    ["an ftp url", { keys: ["a"], maxErrorRate: 0.1, source: { kind: "http", url: "ftp://x" } }, "value.http.url", /must be http or https/],
  ])("%s is refused, naming the member", (_name, doc, field, message) => {
    const e = refusal(() => healthCheckFromJson("c", doc));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });
});

describe("keys under _ctm/", () => {
  it("only known kinds with valid names, and never a rollout", () => {
    expect(checkReservedWrite("_ctm/validators/pool", false, "")).toBe("pool");
    expect(checkReservedWrite("_ctm/health/api-5xx", false, "")).toBe("api-5xx");
    expect(refusal(() => checkReservedWrite("_ctm/other/x", false, "operations[0].set."))).toMatchObject({ field: "operations[0].set.key", message: expect.stringMatching(/is reserved/) });
    expect(refusal(() => checkReservedWrite("_ctm/validators/a/b", false, ""))).toMatchObject({ field: "key" });
    expect(refusal(() => checkReservedWrite("_ctm/validators/pool", true, ""))).toMatchObject({ field: "rollout" });
  });
});
