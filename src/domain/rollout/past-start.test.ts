import { describe, expect, it } from "vitest";
import { CtmError } from "../errors.js";
import { buildRollout, PAST_START_TOLERANCE_MS, type RolloutInput } from "./build-rollout.js";
import { dueMilestones } from "@ctm/core/rollout/schedule";

const NOW = Date.UTC(2026, 11, 2, 12);
const MIN = 60_000;
const HOUR = 60 * MIN;

const build = (input: RolloutInput) => buildRollout(input, { key: "search.ranker", value: "v2", currentStable: "v1", now: NOW });

function refusal(input: RolloutInput): CtmError {
  try {
    build(input);
  } catch (e) {
    if (e instanceof CtmError) return e;
    throw e;
  }
  throw new Error("expected the plan to be refused");
}

/** The README's example: a 72-hour ramp over three daily rings. */
const readmePlan = (activateAt: number): RolloutInput => ({
  percentage: { kind: "ramp", from: 0, to: 100, durationMs: 72 * HOUR },
  rings: { order: ["dev", "staging", "prod"], intervalMs: 24 * HOUR },
  activateAt,
});

describe("a rollout that starts in the past", () => {
  it("is refused naming activate_at, listing every milestone that would fire at once", () => {
    const e = refusal(readmePlan(NOW - 9 * 24 * HOUR));
    expect({ code: e.code, field: e.field }).toEqual({ code: "invalid_argument", field: "rollout.activate_at" });
    expect(e.message).toBe(
      "rollout.activate_at: starts at 2026-11-23T12:00:00.000Z, 9 days in the past: 5 milestones would fire at once " +
        "(activated; ring staging reached; ring prod reached; ramp complete at 100%; finalized: new value for everyone); " +
        "choose a later time, or set allow_past_start to accept that",
    );
  });

  it("is accepted with allow_past_start, and then every due milestone is due at once", () => {
    const ro = build({ ...readmePlan(NOW - 9 * 24 * HOUR), allowPastStart: true });
    expect(dueMilestones(ro.plan, ro.state, NOW).map((m) => m.kind)).toEqual(["activated", "ring", "ring", "ramp_complete", "finalized"]);
  });

  it("tolerates a minute of clock skew, and a start in the future is not due", () => {
    const skewed = build(readmePlan(NOW - PAST_START_TOLERANCE_MS + 1));
    expect(dueMilestones(skewed.plan, skewed.state, NOW).map((m) => m.kind)).toEqual(["activated"]);
    expect(refusal(readmePlan(NOW - PAST_START_TOLERANCE_MS - 1)).field).toBe("rollout.activate_at");
    const later = build(readmePlan(NOW + HOUR));
    expect(dueMilestones(later.plan, later.state, NOW)).toEqual([]);
  });

  it("names the ramp's start_time, or its end_time when the start comes from end_time - duration", () => {
    const ramp = { kind: "ramp" as const, from: 0, to: 100 };
    const byStart = refusal({ percentage: { ...ramp, startAt: NOW - 2 * HOUR, durationMs: 4 * HOUR } });
    expect(byStart.field).toBe("rollout.ramp.start_time");
    // Half-way through: nothing is due yet, but the percentage would jump to 50%.
    expect(byStart.message).toMatch(/2 h in the past: the plan jumps ahead to where it would be now;/);
    const byEnd = refusal({ percentage: { ...ramp, endAt: NOW + HOUR, durationMs: 3 * HOUR } });
    expect(byEnd.field).toBe("rollout.ramp.end_time");
    expect(build({ percentage: { ...ramp, startAt: NOW - 2 * HOUR, durationMs: 4 * HOUR }, allowPastStart: true }).plan.percentage).toMatchObject({ startAt: NOW - 2 * HOUR });
  });

  it("plans with no explicit start begin now and are never refused", () => {
    const ro = build({ percentage: { kind: "steps", start: 10, increment: 10, intervalMs: 5 * MIN, target: 100 }, rings: { order: ["dev", "prod"], intervalMs: HOUR } });
    expect(ro.state.startedAt).toBe(NOW);
    expect(dueMilestones(ro.plan, ro.state, NOW)).toEqual([]);
  });
});
