import type { JsonValue } from "@ctm/core/json";
import { buildRollout, PAST_START_TOLERANCE_MS } from "../../domain/rollout/build-rollout.js";
import { milestones, percentAt, realTime } from "@ctm/core/rollout/schedule";
import type { RolloutPlan } from "../../gen/ctm/v1/rollout.js";
import { toRolloutInput } from "../../transport/grpc/rollout-mapper.js";
import { domainCheck } from "../config-doc/domain-check.js";
import type { Colors } from "./colors.js";
import { formatTime, percent } from "./format-values.js";
import { relativeTime } from "./relative-time.js";
import { renderTable } from "./render-table.js";

export interface ScheduledMilestone {
  index: number;
  kind: string;
  description: string;
  percentage: number;
  ring: string;
  dueTime: Date;
  /** Already due when the plan is written: the scheduler writes it at its next tick, with the others due. */
  dueNow: boolean;
}

export interface PlanSchedule {
  /** The plan's clock origin: activation, or now. */
  startsAt: Date;
  /** The percentage the plan stands at right when it is written. */
  percentNow: number;
  /** It starts too far in the past to be written without allow_past_start. */
  needsAllowPastStart: boolean;
  milestones: ScheduledMilestone[];
}

/**
 * The schedule a plan would have if written at `now`, computed with the daemon's own
 * pure functions, so `ctm set --dry-run` and a refused past start can show what would fire
 * without writing anything. `currentStable` stands in for the key's value when the plan has no stable.
 */
export function planSchedule(plan: RolloutPlan, key: string, value: JsonValue, currentStable: JsonValue | undefined, now: number): PlanSchedule {
  const ro = domainCheck(() => buildRollout({ ...toRolloutInput(plan, now), allowPastStart: true }, { key, value, currentStable, now }));
  const ms = milestones(ro.plan, ro.state).map((m, i) => {
    const due = realTime(ro.state, m.at) ?? m.at;
    return { index: i + 1, kind: m.kind, description: m.description, percentage: m.percent, ring: m.ring, dueTime: new Date(due), dueNow: due <= now };
  });
  const p = ro.plan.percentage;
  const startsAt = p?.kind === "ramp" ? Math.min(p.startAt, ro.state.startedAt) : ro.state.startedAt;
  const needsAllowPastStart = !plan.allowPastStart && startsAt < now - PAST_START_TOLERANCE_MS;
  return { startsAt: new Date(startsAt), percentNow: percentAt(p, ro.state.startedAt, now), needsAllowPastStart, milestones: ms };
}

/** One line per milestone; the ones already due stand out. */
export function renderSchedule(ms: readonly ScheduledMilestone[], c: Colors, now = Date.now()): string {
  const rows = ms.map((m) => [m.index, m.description, percent(m.percentage), m.ring || "-", formatTime(m.dueTime), m.dueNow ? c.red(`due now (${relativeTime(m.dueTime, now)})`) : relativeTime(m.dueTime, now)]);
  return renderTable(["#", "milestone", "percentage", "ring", "due", "when"], rows, c);
}

/** "starts 9d ago: 3 milestones already due are written at once; at 100% now". */
export function dueSummary(s: PlanSchedule, now = Date.now()): string {
  const n = s.milestones.filter((m) => m.dueNow).length;
  const due = n === 0 ? "no milestone is due yet" : `${n} milestone${n === 1 ? " is" : "s are"} already due and written at once`;
  const refused = s.needsAllowPastStart ? " (ctmd refuses this start without --allow-past-start)" : "";
  return `starts ${formatTime(s.startsAt)} (${relativeTime(s.startsAt, now)}): ${due}; ${percent(s.percentNow)} of units right away${refused}`;
}
