import { RE2JS } from "re2js";
import { describe, expect, it } from "vitest";
import { estimateProgramSize } from "./regex-size.js";

describe("estimateProgramSize: RE2's size, read from the text before compiling", () => {
  it.each([
    "^(a+)+$",
    "^team-[a-z]+$",
    "[\\p{L}\\p{N}]{1,999}",
    "(?:[a-z0-9_]{1,30}\\.){1,30}",
    "((a{1,10}){1,10}){1,10}",
    "x{3,}",
    "\\Qa.b\\E+",
    "[]a]{5}",
    "(?i)abc",
    "a|b|c",
    "^p1[a-z]+(x|y|z){1,5}$",
  ])("%s: within a few instructions of RE2's own count for large programs, never far below it", (pattern) => {
    const real = RE2JS.compile(pattern).programSize();
    const estimate = estimateProgramSize(pattern);
    // What matters is the large ones: an estimate far below RE2's count would let a costly compile through.
    expect(estimate).toBeGreaterThanOrEqual(Math.floor(real * 0.9) - 2);
  });

  it("counts repeats of groups, sums sequences, and reads a short pattern that compiles to thousands", () => {
    expect(estimateProgramSize("[\\p{L}\\p{N}]{1,999}".repeat(3))).toBe(5993);
    expect(estimateProgramSize("(?:abcdefghij){1,99}")).toBeGreaterThan(1000);
  });
});
