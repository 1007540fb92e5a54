import { describe, expect, it } from "vitest";
import { CtmError } from "../errors.js";
import type { LogRecord } from "@ctm/core/record";
import { abort, dueMilestones, finalize, kill, pause, promote, resume, type Transition } from "./controls.js";
import { evaluate } from "@ctm/core/rollout/evaluate";
import type { EvalContext, Rollout, RolloutPlan, RolloutState } from "@ctm/core/rollout/plan";
import { percentAt, planTime, ringIndexAt } from "@ctm/core/rollout/schedule";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;

function rollout(plan: Partial<RolloutPlan> = {}, state: Partial<RolloutState> = {}): Rollout {
  return {
    plan: { stable: "old", salt: "k", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...plan },
    state: { startedAt: T0, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0, ...state },
  };
}

const canary = (state: Partial<RolloutState> = {}): Rollout =>
  rollout({ percentage: { kind: "steps", start: 10, increment: 10, intervalMs: 5 * MIN, target: 100 } }, state);

const pct = (ro: Rollout, now: number): number => percentAt(ro.plan.percentage, ro.state.startedAt, planTime(ro.state, now));

function failsWith(f: () => unknown, code: string, text: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CtmError);
  expect((caught as CtmError).code).toBe(code);
  expect((caught as CtmError).message).toMatch(text);
}

/** Applies the transitions in order, the way the scheduler appends them. */
const last = (ts: Transition[]): Transition => ts[ts.length - 1]!;

describe("pause and resume", () => {
  it("pause freezes the percentage while the clock moves", () => {
    const t = pause(canary(), "new", T0 + 12 * MIN);
    expect(t).toMatchObject({ kind: "rollout_paused", value: "new", description: "paused" });
    expect(t.rollout!.state).toEqual({ startedAt: T0, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0, pausedAt: T0 + 12 * MIN });
    expect(pct(t.rollout!, T0 + 12 * MIN)).toBe(30);
    expect(pct(t.rollout!, T0 + 600 * MIN)).toBe(30);
  });

  it("resume continues where it stopped: the paused time becomes a shift", () => {
    const paused = pause(canary(), "new", T0 + 12 * MIN).rollout!;
    const t = resume(paused, "new", T0 + 72 * MIN);
    expect(t).toMatchObject({ kind: "rollout_resumed", description: "resumed" });
    expect(t.rollout!.state).toEqual({ startedAt: T0, shiftMs: -60 * MIN, promotedRings: 0, killed: false, milestones: 0 });
    expect(Object.hasOwn(t.rollout!.state, "pausedAt")).toBe(false);
    expect(pct(t.rollout!, T0 + 72 * MIN)).toBe(30);
    expect(pct(t.rollout!, T0 + 75 * MIN - 1)).toBe(30);
    expect(pct(t.rollout!, T0 + 75 * MIN)).toBe(40); // the 15-minute step, an hour late
  });

  it("pausing twice, or resuming what runs, is failed_precondition", () => {
    const paused = pause(canary(), "new", T0).rollout!;
    failsWith(() => pause(paused, "new", T0 + 1), "failed_precondition", /already paused/);
    failsWith(() => resume(canary(), "new", T0), "failed_precondition", /neither paused nor killed/);
  });

  it("does not change the plan", () => {
    const ro = canary();
    expect(pause(ro, "new", T0).rollout!.plan).toBe(ro.plan);
  });
});

describe("kill switch", () => {
  it("kill serves stable to everyone and freezes the clock; resume continues where it stood", () => {
    const k = kill(canary(), "new", T0);
    expect(k).toMatchObject({ kind: "rollout_killed", value: "new", description: "kill switch: stable value for everyone" });
    expect(k.rollout!.state.killed).toBe(true);
    const rec = { value: "new", rollout: k.rollout, kind: "rollout_killed" } as LogRecord;
    expect(evaluate(rec, { unitId: "u", environment: "", attributes: {} }, T0 + 99 * MIN)).toEqual({ value: "old", variant: "stable", reason: "rolled_back" });
    failsWith(() => kill(k.rollout!, "new", T0), "failed_precondition", /already on/);
    const r = resume(k.rollout!, "new", T0 + 20 * MIN);
    expect(r.description).toBe("kill switch lifted, resumed");
    expect(r.rollout!.state).toEqual({ startedAt: T0, shiftMs: -20 * MIN, promotedRings: 0, killed: false, milestones: 0 });
    expect(pct(r.rollout!, T0 + 20 * MIN)).toBe(pct(canary(), T0));
  });

  it("resume lifts both a pause and the kill switch", () => {
    const both = kill(pause(canary(), "new", T0 + 5 * MIN).rollout!, "new", T0 + 10 * MIN).rollout!;
    expect(both.state.pausedAt).toBe(T0 + 5 * MIN);
    const r = resume(both, "new", T0 + 25 * MIN).rollout!;
    expect(r.state).toMatchObject({ killed: false, shiftMs: -20 * MIN });
    expect(pct(r, T0 + 25 * MIN)).toBe(20);
  });
});

describe("abort and finalize", () => {
  it("abort makes the stable value static", () => {
    expect(abort(canary())).toEqual({ kind: "rollout_aborted", value: "old", rollout: undefined, description: "aborted: back to the stable value" });
  });

  it("finalize gives everyone the new value, or stable when the plan ramped down to 0%", () => {
    expect(finalize(canary(), "new")).toEqual({ kind: "rollout_finalized", value: "new", rollout: undefined, description: "finalized" });
    const down = rollout({ percentage: { kind: "steps", start: 100, increment: -50, intervalMs: MIN, target: 0 } });
    expect(finalize(down, "new", "done")).toEqual({ kind: "rollout_finalized", value: "old", rollout: undefined, description: "done" });
  });

  it("finalize keeps variants (an A/B split) and pins, and drops everything else", () => {
    const ro = rollout(
      {
        variants: [{ name: "a", weight: 1, value: "A" }],
        pinned: [{ unitId: "p", serve: "stable" }],
        earlyAdopters: ["e"],
        rules: [{ unitIdRegex: "x" }],
        rings: { order: ["dev", "prod"], intervalMs: 0 },
        activateAt: T0,
        percentage: { kind: "steps", start: 10, increment: 10, intervalMs: MIN, target: 100 },
      },
      { shiftMs: 5, promotedRings: 1, milestones: 4, pausedAt: T0 + 1 },
    );
    const t = finalize(ro, "new");
    expect(t.value).toBe("new");
    expect(t.rollout).toEqual({
      plan: { stable: "old", salt: "k", earlyAdopters: [], pinned: [{ unitId: "p", serve: "stable" }], rules: [], variants: [{ name: "a", weight: 1, value: "A" }], interpolate: false },
      state: { startedAt: T0, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0 },
    });
    expect(dueMilestones(t.rollout!, "new", T0 + 9999 * MIN)).toEqual([]);
  });
});

describe("promote", () => {
  it("next jumps the plan's clock to the next step", () => {
    const t = promote(canary(), "new", T0 + 2 * MIN, "next");
    expect(t).toMatchObject({ kind: "rollout_promoted", description: "promoted: step 1 of 9: 20%" });
    expect(t.rollout!.state).toMatchObject({ shiftMs: 3 * MIN, milestones: 1 });
    expect(pct(t.rollout!, T0 + 2 * MIN)).toBe(20);
    // the following step comes one interval later, not at the old time
    expect(pct(t.rollout!, T0 + 5 * MIN)).toBe(20);
    expect(pct(t.rollout!, T0 + 7 * MIN)).toBe(30);
    const again = promote(t.rollout!, "new", T0 + 2 * MIN, "next");
    expect(again.description).toBe("promoted: step 2 of 9: 30%");
    expect(pct(again.rollout!, T0 + 2 * MIN)).toBe(30);
  });

  it("manual rings are promoted first, then steps, then it finishes", () => {
    const ro = rollout({
      rings: { order: ["dev", "staging", "prod"], intervalMs: 0 },
      percentage: { kind: "steps", start: 50, increment: 50, intervalMs: 10 * MIN, target: 100 },
    });
    const now = T0 + MIN;
    const a = promote(ro, "new", now, "next");
    expect(a.description).toBe("promoted to ring staging");
    expect(a.rollout!.state).toMatchObject({ promotedRings: 1, shiftMs: 0 });
    const b = promote(a.rollout!, "new", now, "next");
    expect(b.description).toBe("promoted to ring prod");
    expect(ringIndexAt(b.rollout!.plan, b.rollout!.state, now)).toBe(2);
    const c = promote(b.rollout!, "new", now, "next");
    expect(c.description).toBe("promoted: step 1 of 1: 100%");
    expect(pct(c.rollout!, now)).toBe(100);
    const d = promote(c.rollout!, "new", now, "next");
    expect(d).toEqual({ kind: "rollout_finalized", value: "new", rollout: undefined, description: "promoted: finished" });
  });

  it("timed rings are promoted by moving the clock to the next ring", () => {
    const ro = rollout({ rings: { order: ["dev", "prod"], intervalMs: 60 * MIN } });
    const t = promote(ro, "new", T0, "next");
    expect(t.description).toBe("promoted: ring prod reached");
    expect(ringIndexAt(ro.plan, t.rollout!.state, planTime(t.rollout!.state, T0))).toBe(1);
  });

  it("reaching the finalization milestone finalizes", () => {
    const ro = rollout({ percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 10 * MIN } }, { milestones: 1, shiftMs: 10 * MIN - 1 });
    // ramp_complete (index 0) is written; finalization is next, at the same plan time
    expect(promote(ro, "new", T0, "next")).toEqual({ kind: "rollout_finalized", value: "new", rollout: undefined, description: "promoted: finalized: new value for everyone" });
  });

  it("before activation, next activates", () => {
    const ro = rollout({ activateAt: T0 + 60 * MIN, percentage: { kind: "steps", start: 10, increment: 90, intervalMs: MIN, target: 100 } }, { startedAt: T0 + 60 * MIN });
    const t = promote(ro, "new", T0, "next");
    expect(t.description).toBe("promoted: activated");
    const rec = { value: "new", rollout: t.rollout, kind: "rollout_promoted" } as LogRecord;
    const ctx: EvalContext = { unitId: "u", environment: "", attributes: {} };
    expect(evaluate(rec, ctx, T0).reason).not.toBe("scheduled_not_yet");
  });

  it("while paused it moves the frozen clock and stays paused", () => {
    const paused = pause(canary(), "new", T0 + 2 * MIN).rollout!;
    const t = promote(paused, "new", T0 + 30 * MIN, "next");
    expect(t.rollout!.state.pausedAt).toBe(T0 + 2 * MIN);
    expect(pct(t.rollout!, T0 + 30 * MIN)).toBe(20);
    expect(pct(t.rollout!, T0 + 90 * MIN)).toBe(20);
  });

  it("finish finalizes from anywhere", () => {
    expect(promote(canary(), "new", T0, "finish")).toEqual({ kind: "rollout_finalized", value: "new", rollout: undefined, description: "promoted: finished" });
  });
});

describe("dueMilestones", () => {
  it("nothing before the first step; each step once it falls due", () => {
    expect(dueMilestones(canary(), "new", T0 + 5 * MIN - 1)).toEqual([]);
    const due = dueMilestones(canary(), "new", T0 + 5 * MIN);
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ kind: "rollout_milestone", value: "new", description: "step 1 of 9: 20%" });
    expect(due[0]!.rollout!.state.milestones).toBe(1);
    expect(dueMilestones(due[0]!.rollout!, "new", T0 + 5 * MIN)).toEqual([]);
  });

  it("after downtime: every missed milestone once, in order, ending with finalization", () => {
    const due = dueMilestones(canary(), "new", T0 + 24 * 60 * MIN);
    expect(due.map((d) => d.kind)).toEqual([...Array<string>(9).fill("rollout_milestone"), "rollout_finalized"]);
    expect(due.map((d) => d.description)).toEqual([
      "step 1 of 9: 20%",
      "step 2 of 9: 30%",
      "step 3 of 9: 40%",
      "step 4 of 9: 50%",
      "step 5 of 9: 60%",
      "step 6 of 9: 70%",
      "step 7 of 9: 80%",
      "step 8 of 9: 90%",
      "step 9 of 9: 100%",
      "finalized: new value for everyone",
    ]);
    expect(due.slice(0, 9).map((d) => d.rollout!.state.milestones)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(last(due)).toMatchObject({ value: "new", rollout: undefined });
  });

  it("picks up from the count already written", () => {
    const due = dueMilestones(canary({ milestones: 7 }), "new", T0 + 40 * MIN);
    expect(due.map((d) => d.description)).toEqual(["step 8 of 9: 90%"]);
  });

  it("follows the plan's clock: a shift makes steps due earlier", () => {
    expect(dueMilestones(canary({ shiftMs: 10 * MIN }), "new", T0).map((d) => d.description)).toEqual(["step 1 of 9: 20%", "step 2 of 9: 30%"]);
  });

  it("while paused: what fell due before the pause is written, nothing after", () => {
    const ro = canary({ pausedAt: T0 + 12 * MIN });
    const due = dueMilestones(ro, "new", T0 + 500 * MIN);
    expect(due.map((d) => d.description)).toEqual(["step 1 of 9: 20%", "step 2 of 9: 30%"]);
    expect(dueMilestones(last(due).rollout!, "new", T0 + 900 * MIN)).toEqual([]);
    expect(last(due).rollout!.state.pausedAt).toBe(T0 + 12 * MIN);
  });

  it("while killed: nothing (the rollout is stopped)", () => {
    expect(dueMilestones(canary({ killed: true }), "new", T0 + 500 * MIN)).toEqual([]);
  });

  it("a ramp down finalizes to the stable value", () => {
    const ro = rollout({ percentage: { kind: "ramp", from: 100, to: 0, startAt: T0, endAt: T0 + 60 * MIN } });
    const due = dueMilestones(ro, "new", T0 + 60 * MIN);
    expect(due.map((d) => [d.kind, d.description, d.value])).toEqual([
      ["rollout_milestone", "ramp complete at 0%", "new"],
      ["rollout_finalized", "finalized: ramped down to the stable value", "old"],
    ]);
  });
});
