import { describe, expect, it } from "vitest";
import { compileRule } from "./compiled-plan.js";

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
