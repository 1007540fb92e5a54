import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Percentage, RolloutPlan, RolloutState } from "./plan.js";
import { finalPercent, milestones, percentAt, planTime, realTime, ringIndexAt, stepCount } from "./schedule.js";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;

const plan = (p: Partial<RolloutPlan> = {}): RolloutPlan => ({ stable: 0, salt: "k", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...p });
const state = (s: Partial<RolloutState> = {}): RolloutState => ({ startedAt: T0, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0, ...s });
const steps = (start: number, increment: number, target: number, intervalMs = 5 * MIN): Percentage => ({ kind: "steps", start, increment, intervalMs, target });

/** Milestones as [minutes after T0, kind, percent, ring, description]. */
const table = (p: RolloutPlan, s = state()): [number, string, number, string, string][] =>
  milestones(p, s).map((m) => [(m.at - T0) / MIN, m.kind, m.percent, m.ring, m.description]);

describe("plan time", () => {
  it("is real time plus the shift, frozen at pausedAt while paused", () => {
    expect(planTime(state({ shiftMs: 7 }), T0 + 100)).toBe(T0 + 107);
    expect(planTime(state({ shiftMs: -30, pausedAt: T0 + 50 }), T0 + 10_000)).toBe(T0 + 20);
    expect(realTime(state({ shiftMs: 7 }), T0 + 107)).toBe(T0 + 100);
    expect(realTime(state({ shiftMs: 7, pausedAt: T0 }), T0 + 107)).toBeUndefined();
  });
});

describe("percentAt with steps", () => {
  it("10 -> 20 -> ... -> 100 every 5 minutes", () => {
    const p = steps(10, 10, 100);
    const at = (ms: number): number => percentAt(p, T0, T0 + ms);
    expect(at(-MIN)).toBe(10);
    expect(at(0)).toBe(10);
    expect(at(5 * MIN - 1)).toBe(10);
    expect(at(5 * MIN)).toBe(20);
    expect([2, 3, 4, 5, 6, 7, 8].map((n) => at(n * 5 * MIN))).toEqual([30, 40, 50, 60, 70, 80, 90]);
    expect(at(45 * MIN)).toBe(100);
    expect(at(500 * MIN)).toBe(100);
  });

  it("stops at the target when the increment overshoots it", () => {
    const p = steps(10, 40, 100, MIN);
    expect([0, 1, 2, 3, 10].map((n) => percentAt(p, T0, T0 + n * MIN))).toEqual([10, 50, 90, 100, 100]);
    expect(stepCount(p as Extract<Percentage, { kind: "steps" }>)).toBe(3);
  });

  it("counts down: a negative increment ramps down to the target", () => {
    const p = steps(100, -25, 0, MIN);
    expect([0, 1, 2, 3, 4, 9].map((n) => percentAt(p, T0, T0 + n * MIN))).toEqual([100, 75, 50, 25, 0, 0]);
  });

  it("does not add a step for a division that rounds up in doubles (9.9 / 3.3)", () => {
    const p = steps(0, 3.3, 9.9, MIN) as Extract<Percentage, { kind: "steps" }>;
    expect((9.9 - 0) / 3.3).toBeGreaterThan(3); // the trap
    expect(stepCount(p)).toBe(3);
    expect(percentAt(p, T0, T0 + 3 * MIN)).toBe(9.9);
    expect(table(plan({ percentage: p })).map((r) => [r[0], r[4]])).toEqual([[1, "step 1 of 3: 3.3%"], [2, "step 2 of 3: 6.6%"], [3, "step 3 of 3: 9.9%"]]);
    expect(stepCount(steps(0, 0.7, 2.1) as Extract<Percentage, { kind: "steps" }>)).toBe(3);
    expect(stepCount(steps(0, 0.3, 1) as Extract<Percentage, { kind: "steps" }>)).toBe(4);
  });

  it("never leaves [min(start, target), max(start, target)] and never moves backwards", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        fc.integer({ min: 0, max: 100 * MIN }),
        fc.integer({ min: 0, max: 100 * MIN }),
        (start, target, inc, a, b) => {
          fc.pre(start !== target);
          const p = steps(start, target > start ? inc : -inc, target, MIN);
          const [t1, t2] = a <= b ? [a, b] : [b, a];
          const x = percentAt(p, T0, T0 + t1);
          const y = percentAt(p, T0, T0 + t2);
          expect(x).toBeGreaterThanOrEqual(Math.min(start, target));
          expect(x).toBeLessThanOrEqual(Math.max(start, target));
          if (target > start) expect(y).toBeGreaterThanOrEqual(x);
          else expect(y).toBeLessThanOrEqual(x);
        },
      ),
    );
  });
});

describe("percentAt with a ramp", () => {
  it("is linear between start and end and flat outside", () => {
    const p: Percentage = { kind: "ramp", from: 0, to: 100, startAt: T0 + 10 * MIN, endAt: T0 + 110 * MIN };
    expect(percentAt(p, T0, T0)).toBe(0);
    expect(percentAt(p, T0, T0 + 10 * MIN)).toBe(0);
    expect(percentAt(p, T0, T0 + 35 * MIN)).toBe(25);
    expect(percentAt(p, T0, T0 + 60 * MIN)).toBe(50);
    expect(percentAt(p, T0, T0 + 110 * MIN)).toBe(100);
    expect(percentAt(p, T0, T0 + 999 * MIN)).toBe(100);
  });

  it("ramps down", () => {
    const p: Percentage = { kind: "ramp", from: 80, to: 20, startAt: T0, endAt: T0 + 60 * MIN };
    expect([0, 20, 40, 60, 90].map((m) => percentAt(p, T0, T0 + m * MIN))).toEqual([80, 60, 40, 20, 20]);
  });

  it("no percentage is 100%", () => {
    expect(percentAt(undefined, T0, T0)).toBe(100);
    expect(finalPercent(undefined)).toBe(100);
    expect(finalPercent(steps(10, 10, 70))).toBe(70);
    expect(finalPercent({ kind: "ramp", from: 50, to: 0, startAt: 0, endAt: 1 })).toBe(0);
  });
});

describe("ringIndexAt", () => {
  const order = ["dev", "staging", "prod"];

  it("timed rings advance every interval from the origin and stop at the last", () => {
    const p = plan({ rings: { order, intervalMs: 30 * MIN } });
    expect([-5, 0, 29, 30, 59, 60, 600].map((m) => ringIndexAt(p, state(), T0 + m * MIN))).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });

  it("manual rings move only by promotion; no rings is -1", () => {
    const p = plan({ rings: { order, intervalMs: 0 } });
    expect(ringIndexAt(p, state(), T0 + 9999 * MIN)).toBe(0);
    expect(ringIndexAt(p, state({ promotedRings: 2 }), T0)).toBe(2);
    expect(ringIndexAt(p, state({ promotedRings: 5 }), T0)).toBe(2);
    expect(ringIndexAt(plan(), state(), T0)).toBe(-1);
  });
});

describe("milestones", () => {
  it("steps: one per step, then finalization at 100%", () => {
    expect(table(plan({ percentage: steps(10, 10, 100) }))).toEqual([
      [5, "step", 20, "", "step 1 of 9: 20%"],
      [10, "step", 30, "", "step 2 of 9: 30%"],
      [15, "step", 40, "", "step 3 of 9: 40%"],
      [20, "step", 50, "", "step 4 of 9: 50%"],
      [25, "step", 60, "", "step 5 of 9: 60%"],
      [30, "step", 70, "", "step 6 of 9: 70%"],
      [35, "step", 80, "", "step 7 of 9: 80%"],
      [40, "step", 90, "", "step 8 of 9: 90%"],
      [45, "step", 100, "", "step 9 of 9: 100%"],
      [45, "finalized", 100, "", "finalized: new value for everyone"],
    ]);
  });

  it("a plan that stops short of 100% (or 0%) is never finalized", () => {
    expect(table(plan({ percentage: steps(10, 20, 50) })).map((r) => r[1])).toEqual(["step", "step"]);
    expect(table(plan({ percentage: { kind: "ramp", from: 0, to: 50, startAt: T0, endAt: T0 + 10 * MIN } }))).toEqual([[10, "ramp_complete", 50, "", "ramp complete at 50%"]]);
  });

  it("ramp: completion, then finalization; a ramp down to 0 finalizes to stable", () => {
    expect(table(plan({ percentage: { kind: "ramp", from: 0, to: 100, startAt: T0 + MIN, endAt: T0 + 61 * MIN } }))).toEqual([
      [61, "ramp_complete", 100, "", "ramp complete at 100%"],
      [61, "finalized", 100, "", "finalized: new value for everyone"],
    ]);
    expect(table(plan({ percentage: { kind: "ramp", from: 40, to: 0, startAt: T0, endAt: T0 + 20 * MIN } }))).toEqual([
      [20, "ramp_complete", 0, "", "ramp complete at 0%"],
      [20, "finalized", 0, "", "finalized: ramped down to the stable value"],
    ]);
  });

  it("activation comes first, and steps count from it", () => {
    const s = state({ startedAt: T0 + 60 * MIN });
    expect(table(plan({ activateAt: T0 + 60 * MIN, percentage: steps(50, 50, 100, 10 * MIN) }), s)).toEqual([
      [60, "activated", 50, "", "activated"],
      [70, "step", 100, "", "step 1 of 1: 100%"],
      [70, "finalized", 100, "", "finalized: new value for everyone"],
    ]);
    // Activation alone: everyone at once, so it is final at once.
    expect(table(plan({ activateAt: T0 + 60 * MIN }), s).map((r) => r.slice(0, 2))).toEqual([
      [60, "activated"],
      [60, "finalized"],
    ]);
  });

  it("timed rings interleave with steps in time order; finalization waits for the last ring", () => {
    const p = plan({ rings: { order: ["dev", "staging", "prod"], intervalMs: 12 * MIN }, percentage: steps(50, 25, 100, 10 * MIN) });
    expect(table(p)).toEqual([
      [10, "step", 75, "dev", "step 1 of 2: 75%"],
      [12, "ring", 75, "staging", "ring staging reached"],
      [20, "step", 100, "staging", "step 2 of 2: 100%"],
      [24, "ring", 100, "prod", "ring prod reached"],
      [24, "finalized", 100, "prod", "finalized: new value for everyone"],
    ]);
  });

  it("manual rings add no milestones and keep the plan from finalizing on its own", () => {
    const p = plan({ rings: { order: ["dev", "prod"], intervalMs: 0 }, percentage: steps(50, 50, 100, 10 * MIN) });
    expect(table(p)).toEqual([[10, "step", 100, "dev", "step 1 of 1: 100%"]]);
    expect(table(p, state({ promotedRings: 1 }))).toEqual([[10, "step", 100, "prod", "step 1 of 1: 100%"]]);
  });

  it("a plan with nothing timed has no milestones", () => {
    expect(milestones(plan({ earlyAdopters: ["a"] }), state())).toEqual([]);
  });

  it("do not depend on the shift or the pause: the list is fixed by the plan and origin", () => {
    const p = plan({ percentage: steps(10, 30, 100) });
    expect(milestones(p, state({ shiftMs: 12345, pausedAt: T0 + 3 }))).toEqual(milestones(p, state()));
  });
});
