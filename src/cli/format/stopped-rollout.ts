import type { Percentage, RolloutPlan, RolloutState } from "@ctm/core/rollout/plan";
import { percentAt, planTime, ringIndexAt } from "@ctm/core/rollout/schedule";
import { RecordKind, type Entry } from "../../gen/ctm/v1/record.js";
import type { Duration } from "../../gen/google/protobuf/duration.js";

/** How a key's last rollout ended, when its current record ended it. */
export interface StoppedRollout {
  how: "aborted" | "auto_rollback" | "rolled_back" | "finalized";
  /** The author of the record that ended it: a person, or `health:<check>`. */
  by: string;
  /** The health check, for an auto-rollback. */
  check?: string;
  at: Date | undefined;
  message: string;
  /** Where the rollout stood when it ended (unknown when the record before it was not rolling out). */
  percentage?: number;
  ring?: string;
  rolledBackTo?: number;
}

const HOW: Partial<Record<RecordKind, StoppedRollout["how"]>> = {
  [RecordKind.RECORD_KIND_ROLLOUT_ABORTED]: "aborted",
  [RecordKind.RECORD_KIND_AUTO_ROLLBACK]: "auto_rollback",
  [RecordKind.RECORD_KIND_ROLLBACK]: "rolled_back",
  [RecordKind.RECORD_KIND_ROLLOUT_FINALIZED]: "finalized",
};

const ms = (d: Duration | undefined): number => (d ? d.seconds * 1000 + Math.floor(d.nanos / 1e6) : 0);

/** The parts of a proto rollout that say where it stands at a time: its percentage and ring. */
function standing(prev: Entry, t: number): { percentage: number; ring?: string } | undefined {
  const ro = prev.rollout;
  if (!ro?.plan || !ro.state?.startedAt) return undefined;
  const pc = ro.plan.percentage;
  const p: Percentage | undefined =
    pc?.$case === "steps"
      ? { kind: "steps", start: pc.value.start, increment: pc.value.increment, intervalMs: ms(pc.value.interval), target: pc.value.target }
      : pc?.$case === "ramp" && pc.value.startTime && pc.value.endTime
        ? { kind: "ramp", from: pc.value.from, to: pc.value.to, startAt: pc.value.startTime.getTime(), endAt: pc.value.endTime.getTime() }
        : undefined;
  const state: RolloutState = {
    startedAt: ro.state.startedAt.getTime(),
    pausedAt: ro.state.paused ? ro.state.pausedAt?.getTime() : undefined,
    shiftMs: ms(ro.state.shift),
    promotedRings: ro.state.promotedRings,
    killed: ro.state.killed,
    milestones: ro.state.milestones,
  };
  const rings = ro.plan.rings && ro.plan.rings.order.length > 0 ? { order: ro.plan.rings.order, intervalMs: ms(ro.plan.rings.interval) } : undefined;
  const pt = planTime(state, t);
  // A killed rollout served everyone the stable value: it stood at 0%.
  const percentage = state.killed ? 0 : percentAt(p, state.startedAt, pt);
  const ring = rings ? rings.order[ringIndexAt({ rings } as RolloutPlan, state, pt)] : undefined;
  return { percentage, ring };
}

/**
 * How the rollout ended, when `current` (a record without a rollout) ended one that `prev`
 * (the version before it) carried. Undefined for a key that was simply set.
 */
export function stoppedRollout(current: Entry, prev: Entry | undefined): StoppedRollout | undefined {
  const how = HOW[current.kind];
  if (how === undefined || current.rollout) return undefined;
  if (how === "rolled_back" && !prev?.rollout) return undefined;
  const check = how === "auto_rollback" && current.author.startsWith("health:") ? current.author.slice("health:".length) : undefined;
  const at = current.time?.getTime();
  const stood = prev && at !== undefined ? standing(prev, at) : undefined;
  return {
    how,
    by: current.author,
    ...(check === undefined ? {} : { check }),
    at: current.time,
    message: current.message,
    ...(stood ?? {}),
    ...(how === "rolled_back" ? { rolledBackTo: current.rolledBackTo } : {}),
  };
}
