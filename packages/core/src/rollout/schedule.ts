import type { Percentage, RolloutPlan, RolloutState } from "./plan.js";

/** The plan's clock: real time, frozen while paused, moved by pauses and promotions. */
export const planTime = (s: RolloutState, now: number): number => (s.pausedAt ?? now) + s.shiftMs;

/** Real time at which the plan's clock reads `t` (undefined while paused: it never will). */
export const realTime = (s: RolloutState, t: number): number | undefined => (s.pausedAt !== undefined ? undefined : t - s.shiftMs);

/**
 * How many steps take `start` to `target`. The quotient is computed in doubles, so an
 * exact division such as 9.9 / 3.3 can come out as 3.0000000000000004; a tolerance far
 * below the 0.001% bucketing resolution keeps that from adding a step that changes nothing.
 */
export function stepCount(p: Extract<Percentage, { kind: "steps" }>): number {
  const q = Math.abs(p.target - p.start) / Math.abs(p.increment);
  return Math.max(1, Math.ceil(q - 1e-9));
}

export function percentAt(p: Percentage | undefined, origin: number, t: number): number {
  if (p === undefined) return 100;
  if (p.kind === "ramp") {
    if (t <= p.startAt) return p.from;
    if (t >= p.endAt) return p.to;
    return p.from + ((p.to - p.from) * (t - p.startAt)) / (p.endAt - p.startAt);
  }
  const steps = Math.max(0, Math.floor((t - origin) / p.intervalMs));
  // The last step lands on the target exactly, not on start + n * increment's rounding of it.
  if (steps >= stepCount(p)) return p.target;
  const raw = p.start + steps * p.increment;
  return p.increment >= 0 ? Math.min(raw, p.target) : Math.max(raw, p.target);
}

/** The last percentage the plan reaches. */
export const finalPercent = (p: Percentage | undefined): number => (p === undefined ? 100 : p.kind === "ramp" ? p.to : p.target);

export function ringIndexAt(plan: RolloutPlan, s: RolloutState, t: number): number {
  const rings = plan.rings;
  if (!rings) return -1;
  const byTime = rings.intervalMs > 0 ? Math.max(0, Math.floor((t - s.startedAt) / rings.intervalMs)) : 0;
  return Math.min(byTime + s.promotedRings, rings.order.length - 1);
}

export type MilestoneKind = "activated" | "step" | "ring" | "ramp_complete" | "finalized";

export interface Milestone {
  kind: MilestoneKind;
  /** Plan time at which it falls due. */
  at: number;
  description: string;
  percent: number;
  ring: string;
}

/**
 * Every milestone of a plan, in order: activation, each step, each timed ring
 * promotion, the end of a ramp and, when the plan ends at 100% or 0% on the
 * last ring, finalization. Pure: the scheduler writes those that fell due.
 */
export function milestones(plan: RolloutPlan, s: RolloutState): Milestone[] {
  const origin = s.startedAt;
  const p = plan.percentage;
  const ringName = (t: number): string => (plan.rings ? plan.rings.order[ringIndexAt(plan, s, t)]! : "");
  const out: Omit<Milestone, "percent" | "ring">[] = [];
  if (plan.activateAt !== undefined) out.push({ kind: "activated", at: plan.activateAt, description: "activated" });
  if (p?.kind === "steps") {
    const count = stepCount(p);
    for (let n = 1; n <= count; n++) {
      const at = origin + n * p.intervalMs;
      out.push({ kind: "step", at, description: `step ${n} of ${count}: ${fmt(percentAt(p, origin, at))}%` });
    }
  } else if (p?.kind === "ramp") {
    out.push({ kind: "ramp_complete", at: p.endAt, description: `ramp complete at ${fmt(p.to)}%` });
  }
  const rings = plan.rings;
  if (rings && rings.intervalMs > 0) {
    for (let i = 1; i < rings.order.length; i++) {
      out.push({ kind: "ring", at: origin + i * rings.intervalMs, description: `ring ${rings.order[i]} reached` });
    }
  }
  out.sort((a, b) => a.at - b.at);
  const end = finalPercent(p);
  const timedRings = !rings || rings.intervalMs > 0;
  if ((end === 100 || end === 0) && timedRings && out.length > 0) {
    const at = Math.max(origin, ...out.map((m) => m.at));
    out.push({ kind: "finalized", at, description: end === 100 ? "finalized: new value for everyone" : "finalized: ramped down to the stable value" });
  }
  return out.map((m) => ({ ...m, percent: percentAt(p, origin, m.at), ring: ringName(m.at) }));
}

const fmt = (n: number): string => String(Math.round(n * 1000) / 1000);

/** Milestones of a freshly built rollout already due at `now`: those the scheduler would write at once. */
export const dueMilestones = (plan: RolloutPlan, s: RolloutState, now: number): Milestone[] =>
  milestones(plan, s).filter((m) => m.at <= planTime(s, now));
