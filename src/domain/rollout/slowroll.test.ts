import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CtmError } from "../errors.js";
import type { LogRecord } from "@ctm/core/record";
import { buildRollout } from "./build-rollout.js";
import { evaluate } from "@ctm/core/rollout/evaluate";
import { milestones } from "@ctm/core/rollout/schedule";
import { fromSlowroll, parseDurationMs, parseRfc3339, toSlowroll, type SlowrollFeature } from "./slowroll.js";

const H = 3_600_000;
const NOW = Date.UTC(2024, 2, 1);

const feature: SlowrollFeature = {
  stable: { checkout: "v1" },
  new: { checkout: "v2" },
  early_adopters: ["alice", "bob"],
  end_time: "2024-03-04T00:00:00Z",
  duration: "72h",
};

function rejects(f: () => unknown, field: string, text?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CtmError);
  expect({ code: (caught as CtmError).code, field: (caught as CtmError).field }).toEqual({ code: "invalid_argument", field });
  if (text) expect((caught as CtmError).message).toMatch(text);
}

describe("fromSlowroll", () => {
  it("maps onto a 0 -> 100% ramp that ends at end_time, with early adopters", () => {
    expect(fromSlowroll(feature)).toEqual({
      value: { checkout: "v2" },
      rollout: {
        stable: { checkout: "v1" },
        earlyAdopters: ["alice", "bob"],
        percentage: { kind: "ramp", from: 0, to: 100, endAt: Date.UTC(2024, 2, 4), durationMs: 72 * H },
      },
    });
  });

  it("builds into a plan whose ramp starts duration before end_time", () => {
    const { value, rollout } = fromSlowroll(feature);
    const ro = buildRollout(rollout, { key: "checkout", value, currentStable: undefined, now: NOW });
    expect(ro.plan).toEqual({
      stable: { checkout: "v1" },
      salt: "checkout",
      earlyAdopters: ["alice", "bob"],
      pinned: [],
      rules: [],
      variants: [],
      interpolate: false,
      percentage: { kind: "ramp", from: 0, to: 100, startAt: Date.UTC(2024, 2, 1), endAt: Date.UTC(2024, 2, 4) },
    });
    expect(milestones(ro.plan, ro.state).map((m) => [m.kind, m.at])).toEqual([
      ["ramp_complete", Date.UTC(2024, 2, 4)],
      ["finalized", Date.UTC(2024, 2, 4)],
    ]);
  });

  it("serves early adopters first, half the units half way, everyone at end_time", () => {
    const { value, rollout } = fromSlowroll(feature);
    const ro = buildRollout(rollout, { key: "checkout", value, currentStable: undefined, now: NOW });
    const rec = { revision: 1, key: "checkout", version: 1, value, deleted: false, time: NOW, author: "a", message: "", kind: "set", cause: "api", rollout: ro } as LogRecord;
    const units = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const share = (t: number): number => units.filter((u) => evaluate(rec, { unitId: u, environment: "", attributes: {} }, t).variant === "new").length / units.length;
    expect(evaluate(rec, { unitId: "alice", environment: "", attributes: {} }, NOW)).toEqual({ value: { checkout: "v2" }, variant: "new", reason: "early_adopter" });
    expect(share(NOW)).toBe(0);
    expect(share(NOW + 36 * H)).toBeGreaterThan(0.45);
    expect(share(NOW + 36 * H)).toBeLessThan(0.55);
    expect(share(NOW + 72 * H)).toBe(1);
  });

  it("takes offsets, fractional seconds, lowercase t/z and a space separator", () => {
    expect(parseRfc3339("2024-03-04T02:00:00+02:00")).toBe(Date.UTC(2024, 2, 4));
    expect(parseRfc3339("2024-03-03T19:30:00-04:30")).toBe(Date.UTC(2024, 2, 4));
    expect(parseRfc3339("2024-03-04t00:00:00.250z")).toBe(Date.UTC(2024, 2, 4) + 250);
    expect(parseRfc3339("2024-03-04 00:00:00Z")).toBe(Date.UTC(2024, 2, 4));
    expect(parseRfc3339("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29));
  });

  it.each([
    "tomorrow",
    "",
    "2024-03-04",
    "2024-03-04T00:00:00", // no offset: would be read in the machine's local zone
    "March 4, 2024 00:00 UTC",
    "2024-02-30T00:00:00Z", // Date.parse rolls this over into March
    "2023-02-29T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-03-04T24:00:00Z",
    "2024-03-04T00:60:00Z",
    "2024-03-04T00:00:00+25:00",
    " 2024-03-04T00:00:00Z",
  ])("rejects end_time %j naming the field", (end_time) => {
    rejects(() => fromSlowroll({ ...feature, end_time }), "feature.end_time", /RFC 3339/);
  });

  it("names the field with the caller's prefix", () => {
    rejects(() => fromSlowroll({ ...feature, duration: "soon" }, "features[3]"), "features[3].duration");
  });
});

describe("durations", () => {
  it.each([
    ["72h", 72 * H],
    ["90m", 90 * 60_000],
    ["1h30m", 90 * 60_000],
    ["45s", 45_000],
    ["1.5h", 1.5 * H],
    ["250ms", 250],
    ["1m30s", 90_000],
    [3600, H],
    [0.5, 500],
  ] as [string | number, number][])("%j is %d ms", (d, ms) => {
    expect(parseDurationMs(d, "d")).toBe(ms);
  });

  it.each(["", "72", "3d", "-5s", "0s", "0h0m", "1h 30m", "h", " 1h", "1H", "9".repeat(400) + "h", 0, -1, Infinity, NaN] as (string | number)[])(
    "%j is rejected",
    (d) => {
      rejects(() => parseDurationMs(d, "feature.duration"), "feature.duration");
    },
  );
});

describe("toSlowroll", () => {
  it("round-trips: slowroll -> plan -> slowroll is the same feature", () => {
    const { value, rollout } = fromSlowroll(feature);
    const ro = buildRollout(rollout, { key: "k", value, currentStable: undefined, now: NOW });
    expect(toSlowroll(value, ro.plan)).toEqual({ ...feature, end_time: "2024-03-04T00:00:00.000Z", duration: 72 * 3600 });
  });

  it("round-trips any feature (the plan side is 1:1)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.integer({ min: 1, max: 10 * 365 * 24 * 3600 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 5 }),
        (end, seconds, early) => {
          const f: SlowrollFeature = { stable: 1, new: 2, early_adopters: early, end_time: new Date(end).toISOString(), duration: seconds };
          const { value, rollout } = fromSlowroll(f);
          // Any end time, past ones too: this is about the mapping, not about when it may start.
          const ro = buildRollout({ ...rollout, allowPastStart: true }, { key: "k", value, currentStable: undefined, now: NOW });
          expect(toSlowroll(value, ro.plan)).toEqual(f);
        },
      ),
    );
  });

  it("is undefined for plans slowroll cannot express", () => {
    const ramp = { kind: "ramp", from: 0, to: 100, startAt: NOW, endAt: NOW + H };
    const base = { stable: 1, earlyAdopters: [] as string[] };
    expect(toSlowroll(2, { ...base, percentage: ramp })).toMatchObject({ end_time: "2024-03-01T01:00:00.000Z", duration: 3600 });
    expect(toSlowroll(2, base)).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: { kind: "steps" } })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: { ...ramp, from: 100, to: 0 } })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: { ...ramp, from: 20 } })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: ramp, rules: [{ unitIdRegex: "x" }] })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: ramp, pinned: [{ unitId: "a", serve: "new" }] })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: ramp, rings: { order: ["dev"], intervalMs: 0 } })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: ramp, variants: [{ name: "a" }] })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: ramp, activateAt: NOW })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: ramp, interpolate: true })).toBeUndefined();
    expect(toSlowroll(2, { ...base, percentage: ramp, rules: [], pinned: [], variants: [], interpolate: false })).toBeDefined();
  });
});
