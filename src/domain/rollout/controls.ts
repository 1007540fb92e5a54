import { failedPrecondition } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { RecordKind } from "@ctm/core/record";
import type { Rollout } from "@ctm/core/rollout/plan";
import { finalPercent, milestones, planTime, ringIndexAt } from "@ctm/core/rollout/schedule";

/** The next state of a rolling key: its value and rollout (none once static). */
export interface Transition {
  kind: RecordKind;
  value: JsonValue;
  rollout: Rollout | undefined;
  /** What happened, for the record's message when the caller gives none. */
  description: string;
}

const withState = (ro: Rollout, state: Partial<Rollout["state"]>): Rollout => ({ plan: ro.plan, state: { ...ro.state, ...state } });

export function pause(ro: Rollout, value: JsonValue, now: number): Transition {
  if (ro.state.pausedAt !== undefined) throw failedPrecondition("the rollout is already paused");
  return { kind: "rollout_paused", value, rollout: withState(ro, { pausedAt: now }), description: "paused" };
}

/** Resume restarts the plan's clock where it stopped, and lifts the kill switch. */
export function resume(ro: Rollout, value: JsonValue, now: number): Transition {
  const { pausedAt, killed } = ro.state;
  if (pausedAt === undefined && !killed) throw failedPrecondition("the rollout is neither paused nor killed");
  const shiftMs = pausedAt === undefined ? ro.state.shiftMs : ro.state.shiftMs - (now - pausedAt);
  const state = { ...ro.state, shiftMs, killed: false };
  delete state.pausedAt;
  return { kind: "rollout_resumed", value, rollout: { plan: ro.plan, state }, description: killed ? "kill switch lifted, resumed" : "resumed" };
}

/** The kill switch also freezes the plan's clock, so Resume continues where the rollout stood. */
export function kill(ro: Rollout, value: JsonValue, now: number): Transition {
  if (ro.state.killed) throw failedPrecondition("the kill switch is already on");
  const rollout = withState(ro, { killed: true, pausedAt: ro.state.pausedAt ?? now });
  return { kind: "rollout_killed", value, rollout, description: "kill switch: stable value for everyone" };
}

/** A rollout restored by a rollback starts over: its plan with a fresh clock. */
export function restart(ro: Rollout, now: number): Rollout {
  return { plan: ro.plan, state: { startedAt: ro.plan.activateAt !== undefined && ro.plan.activateAt > now ? ro.plan.activateAt : now, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0 } };
}

export const abort = (ro: Rollout): Transition => ({
  kind: "rollout_aborted",
  value: ro.plan.stable,
  rollout: undefined,
  description: "aborted: back to the stable value",
});

/**
 * The end state: the new value for everyone (variants stay, as an A/B split),
 * or the stable value when the plan ramped down to 0%.
 */
export function finalize(ro: Rollout, value: JsonValue, description = "finalized"): Transition {
  const { plan } = ro;
  if (plan.percentage !== undefined && finalPercent(plan.percentage) === 0) {
    return { kind: "rollout_finalized", value: plan.stable, rollout: undefined, description };
  }
  if (plan.variants.length === 0) return { kind: "rollout_finalized", value, rollout: undefined, description };
  const kept: Rollout = {
    plan: { stable: plan.stable, salt: plan.salt, earlyAdopters: [], pinned: plan.pinned, rules: [], variants: plan.variants, interpolate: false },
    state: { startedAt: ro.state.startedAt, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0 },
  };
  return { kind: "rollout_finalized", value, rollout: kept, description };
}

/** Manual rings promote first; otherwise the plan's clock jumps to the next milestone not yet due. */
export function promote(ro: Rollout, value: JsonValue, now: number, target: "next" | "finish"): Transition {
  if (target === "finish") return finalize(ro, value, "promoted: finished");
  const { plan, state } = ro;
  const t = planTime(state, now);
  const rings = plan.rings;
  if (rings && rings.intervalMs === 0 && ringIndexAt(plan, state, t) < rings.order.length - 1) {
    const next = withState(ro, { promotedRings: state.promotedRings + 1 });
    return { kind: "rollout_promoted", value, rollout: next, description: `promoted to ring ${rings.order[ringIndexAt(plan, next.state, t)]}` };
  }
  const ms = milestones(plan, state);
  const i = ms.findIndex((m, idx) => idx >= state.milestones && m.at > t);
  if (i < 0) return finalize(ro, value, "promoted: finished");
  const m = ms[i]!;
  if (m.kind === "finalized") return finalize(ro, value, `promoted: ${m.description}`);
  const next = withState(ro, { shiftMs: state.shiftMs + (m.at - t), milestones: i + 1 });
  return { kind: "rollout_promoted", value, rollout: next, description: `promoted: ${m.description}` };
}

/**
 * Milestones that fell due by `now` and are not yet in the log, each as the
 * transition the scheduler appends, in order. After downtime this is every
 * missed milestone, once: each transition records how many are written.
 */
export function dueMilestones(ro: Rollout, value: JsonValue, now: number): Transition[] {
  const { plan, state } = ro;
  if (state.killed) return [];
  const ms = milestones(plan, state);
  const out: Transition[] = [];
  let current = ro;
  // Due means the plan's clock has passed it. While paused that clock stands still, but
  // what fell due before the pause (and was not written yet, e.g. during downtime) is due.
  const t = planTime(state, now);
  for (let i = state.milestones; i < ms.length; i++) {
    const m = ms[i]!;
    if (m.at > t) break;
    if (m.kind === "finalized") {
      out.push(finalize(current, value, m.description));
      break;
    }
    current = withState(current, { milestones: i + 1 });
    out.push({ kind: "rollout_milestone", value, rollout: current, description: m.description });
  }
  return out;
}
