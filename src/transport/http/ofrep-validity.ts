import { thresholdFor } from "@ctm/core/bucketing";
import type { LogRecord } from "@ctm/core/record";
import { percentAt, planTime, stepCount } from "@ctm/core/rollout/schedule";

/**
 * The first real time, after `now`, at which some unit may be served something else from
 * `record` than at `now`, though no record is written: a due activation, step or ring (the
 * scheduler writes it within a tick, but evaluation follows the clock), or a moving ramp, whose
 * threshold steps every 0.001%. Infinity when only a new record can change it (static values,
 * paused or killed rollouts). Evaluation reads nothing else that moves with time, so an answer
 * computed at `now` holds until then for the same revision.
 */
export function changesAt(record: LogRecord, now: number): number {
  const ro = record.rollout;
  if (ro === undefined || ro.state.killed || ro.state.pausedAt !== undefined) return Infinity;
  const { plan, state } = ro;
  const t = planTime(state, now);
  let next = Infinity;
  const at = (planMs: number): void => {
    if (planMs > t && planMs < next) next = planMs;
  };
  if (plan.activateAt !== undefined) at(plan.activateAt);
  const p = plan.percentage;
  if (p?.kind === "steps" && p.intervalMs > 0) {
    const n = Math.floor((t - state.startedAt) / p.intervalMs);
    if (n < stepCount(p)) at(state.startedAt + (Math.max(0, n) + 1) * p.intervalMs);
  } else if (p?.kind === "ramp" && p.endAt > p.startAt && p.to !== p.from) {
    if (t < p.startAt) at(p.startAt);
    else if (t < p.endAt) {
      // An interpolated number moves with every millisecond; a threshold at the next half step.
      const moving = plan.interpolate && typeof plan.stable === "number" && typeof record.value === "number";
      at(moving ? t + 1 : nextThresholdAt(p.from, p.to, p.startAt, p.endAt, t));
      at(p.endAt);
    }
  }
  const rings = plan.rings;
  if (rings && rings.intervalMs > 0) {
    const n = Math.max(0, Math.floor((t - state.startedAt) / rings.intervalMs));
    if (n + state.promotedRings < rings.order.length - 1) at(state.startedAt + (n + 1) * rings.intervalMs);
  }
  // Plan time runs `shiftMs` ahead of real time (not paused here).
  return next - state.shiftMs;
}

/**
 * When a ramp's threshold (round(percent × 1000)) next differs from its value at `t`, floored,
 * and at least 1 ms on: earlier than the exact moment at worst, so a cached answer never
 * outlives its threshold.
 */
function nextThresholdAt(from: number, to: number, startAt: number, endAt: number, t: number): number {
  const now = thresholdFor(percentAt({ kind: "ramp", from, to, startAt, endAt }, 0, t));
  const edge = (to > from ? now + 0.5 : now - 0.5) / 1000;
  const when = startAt + ((edge - from) * (endAt - startAt)) / (to - from);
  return Math.max(t + 1, Math.floor(when) - 1);
}
