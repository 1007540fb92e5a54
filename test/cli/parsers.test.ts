import { describe, expect, it } from "vitest";
import { lineDiff } from "../../src/cli/format/line-diff.js";
import { sideBySide } from "../../src/cli/format/side-by-side.js";
import { colorsFor } from "../../src/cli/format/colors.js";
import { formatDuration, parseDurationMs } from "../../src/cli/parse/parse-duration.js";
import { parseTime } from "../../src/cli/parse/parse-time.js";
import { planFromJson } from "../../src/cli/parse/plan-json.js";

const plain = colorsFor(process.stdout, false);

describe("CLI parsers and formatters", () => {
  it("parseTime takes RFC 3339 with optional seconds and a required zone, now, and '<duration> ago'", () => {
    expect(parseTime("2026-01-15T03:47Z").toISOString()).toBe("2026-01-15T03:47:00.000Z");
    expect(parseTime("2026-01-15T05:47:30.5+02:00").toISOString()).toBe("2026-01-15T03:47:30.500Z");
    expect(parseTime("15m ago", 1_000_000_000).getTime()).toBe(1_000_000_000 - 900_000);
    for (const bad of ["2026-01-15T03:47", "2026-02-30T00:00Z", "2026-01-15T24:00Z", "yesterday", "March 1, 2026"]) {
      expect(() => parseTime(bad), bad).toThrow(/is not a time/);
    }
  });

  it("parseDurationMs and formatDuration", () => {
    expect(parseDurationMs("72h")).toBe(259_200_000);
    expect(parseDurationMs("1h30m")).toBe(5_400_000);
    expect(parseDurationMs("90")).toBe(90_000);
    expect(parseDurationMs("250ms")).toBe(250);
    for (const bad of ["", "0s", "1x", "h", "-5m", "5m garbage"]) expect(() => parseDurationMs(bad), bad).toThrow();
    expect(formatDuration({ seconds: 93_784, nanos: 0 })).toBe("1d2h3m4s");
    expect(formatDuration({ seconds: 300, nanos: 0 })).toBe("5m");
  });

  it("planFromJson accepts canonical proto JSON durations and snake_case names", () => {
    const p = planFromJson({ early_adopters: ["a"], steps: { start: 10, increment: 10, interval: "300s", target: 100 }, rings: { order: ["dev"], interval: "1d" } });
    expect(p.earlyAdopters).toEqual(["a"]);
    expect(p.percentage).toEqual({ $case: "steps", value: { start: 10, increment: 10, interval: { seconds: 300, nanos: 0 }, target: 100 } });
    expect(p.rings?.interval).toEqual({ seconds: 86_400, nanos: 0 });
    expect(() => planFromJson([1])).toThrow(/must be a JSON object/);
  });

  it("lineDiff finds the longest common subsequence", () => {
    const ops = lineDiff(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"]);
    expect(ops.map((o) => o.op)).toEqual(["same", "del", "add", "same", "same", "add"]);
    expect(lineDiff([], ["a"])).toEqual([{ op: "add", b: "a" }]);
  });

  it("sideBySide pairs removed and added lines on one row", () => {
    const out = sideBySide("{\n  \"a\": 1\n}", "{\n  \"a\": 2,\n  \"b\": 3\n}", ["v1", "v2"], plain);
    expect(out.split("\n")).toEqual(["--- v1", "+++ v2", "{          {", '  "a": 1 |   "a": 2,', '         >   "b": 3', "}          }"]);
  });

  it("sideBySide on a wide terminal shows the new side whole, even when it is wider than the old side", () => {
    const wide = `"${"x".repeat(60)}"`;
    const out = sideBySide('"short"', wide, ["v1", "v2"], plain, 200);
    expect(out.split("\n")[2]).toBe(`"short" | ${wide}`);
    // Only a terminal too narrow for both cuts, and then the narrow old side keeps its width.
    const narrow = sideBySide('"short"', wide, ["v1", "v2"], plain, 40).split("\n")[2]!;
    expect(narrow.length).toBe(40);
    expect(narrow).toMatch(/^"short" {4}\| "x{25}…$/);
    // Both wider than half: each gets half, and each is cut.
    const both = sideBySide(wide, `${wide}!`, ["v1", "v2"], plain, 63).split("\n")[2]!;
    expect(both).toMatch(/^"x{28}… \| "x{28}…$/);
  });

  it("parseTime takes 'in <duration>' for times to come", () => {
    expect(parseTime("in 2h", 1_000_000_000).getTime()).toBe(1_000_000_000 + 7_200_000);
    expect(parseTime("in 1h30m", 0).getTime()).toBe(5_400_000);
    expect(() => parseTime("in soon")).toThrow(/is not a time|duration/);
  });
});
