import { describe, expect, it } from "vitest";
import { compileDocumentCheckers, documentChecker } from "./document-checker.js";

describe("documentChecker", () => {
  it("refuses a document naming the first bad member under the field", () => {
    const check = documentChecker({ type: "object", required: ["name"], properties: { name: { type: "string" }, rules: { type: "array", items: { type: "object", properties: { kind: { type: "string" } } } } }, additionalProperties: false });
    expect(() => check({ name: "a", rules: [{ kind: "x" }] }, "value")).not.toThrow();
    expect(() => check({ rules: [] }, "value")).toThrow(/value\.name/);
    expect(() => check({ name: "a", rules: [{ kind: 3 }] }, "value")).toThrow(/value\.rules\[0\]\.kind/);
    expect(() => check({ name: "a", extra: 1 }, "value")).toThrow(/value\.extra.*not a known member/);
  });

  it("compiles on first use, or when the daemon compiles every checker before it serves", () => {
    // A schema Ajv cannot compile: declaring it costs nothing, compiling it throws.
    const broken = documentChecker({ type: "no-such-type" });
    expect(() => compileDocumentCheckers()).toThrow(/no-such-type|type/);
    expect(() => broken({}, "value")).toThrow(/no-such-type|type/);
    const fine = documentChecker({ type: "string" });
    expect(() => fine(1, "value")).toThrow(/value/);
  });
});
