import { invalidArgument } from "../../domain/errors.js";
import { checkContext, TIME_RANGE } from "../../domain/limits.js";
import type { RolloutInput } from "../../domain/rollout/build-rollout.js";
import type { AttributeOp, EvalContext, Reason, Rollout } from "@ctm/core/rollout/plan";
import type { Duration } from "../../gen/google/protobuf/duration.js";
import {
  AttributeOperator,
  Reason as PbReason,
  type EvaluationContext,
  type Rollout as PbRollout,
  type RolloutPlan as PbPlan,
} from "../../gen/ctm/v1/rollout.js";

/** A protobuf Duration in ms; undefined when unset. */
export const durationMs = (d: Duration | undefined): number | undefined => (d === undefined ? undefined : d.seconds * 1000 + Math.floor(d.nanos / 1e6));
const ms = durationMs;
const duration = (msValue: number): Duration => ({ seconds: Math.trunc(msValue / 1000), nanos: Math.round((msValue % 1000) * 1e6) });
const date = (t: number | undefined): Date | undefined => (t === undefined ? undefined : new Date(t));

const OPS: Partial<Record<AttributeOperator, AttributeOp>> = {
  [AttributeOperator.ATTRIBUTE_OPERATOR_EQUALS]: "equals",
  [AttributeOperator.ATTRIBUTE_OPERATOR_NOT_EQUALS]: "not_equals",
  [AttributeOperator.ATTRIBUTE_OPERATOR_IN]: "in",
  [AttributeOperator.ATTRIBUTE_OPERATOR_NOT_IN]: "not_in",
  [AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_EQ]: "semver_eq",
  [AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GT]: "semver_gt",
  [AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GTE]: "semver_gte",
  [AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_LT]: "semver_lt",
  [AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_LTE]: "semver_lte",
};
const PB_OPS = Object.fromEntries(Object.entries(OPS).map(([k, v]) => [v, Number(k)])) as Record<AttributeOp, AttributeOperator>;

const REASONS: Record<Reason, PbReason> = {
  static: PbReason.REASON_STATIC,
  early_adopter: PbReason.REASON_EARLY_ADOPTER,
  pinned: PbReason.REASON_PINNED,
  rule_match: PbReason.REASON_RULE_MATCH,
  in_rollout: PbReason.REASON_IN_ROLLOUT,
  out_of_rollout: PbReason.REASON_OUT_OF_ROLLOUT,
  scheduled_not_yet: PbReason.REASON_SCHEDULED_NOT_YET,
  ring_not_reached: PbReason.REASON_RING_NOT_REACHED,
  variant: PbReason.REASON_VARIANT,
  rolled_back: PbReason.REASON_ROLLED_BACK,
};

export const toPbReason = (r: Reason): PbReason => REASONS[r];
const FROM_PB = new Map(Object.entries(REASONS).map(([k, v]) => [v, k as Reason]));
export const fromPbReason = (r: PbReason): Reason => FROM_PB.get(r) ?? "static";

export function toContext(c: EvaluationContext | undefined): EvalContext {
  return checkContext({ unitId: c?.unitId ?? "", environment: c?.environment ?? "", attributes: c?.attributes ?? {}, requestId: c?.requestId ?? "" });
}

/**
 * The plan as the domain takes it. `now` stands in for the daemon's clock only to refuse
 * plans whose schedule would run past 9999-12-31 (or start before 0001-01-01): JSON clients
 * cannot read such times back.
 */
export function toRolloutInput(p: PbPlan, now = Date.now()): RolloutInput {
  const input = planInput(p);
  checkPlanTimes(input, now);
  return input;
}

function planInput(p: PbPlan): RolloutInput {
  const pc = p.percentage;
  return {
    stable: p.stable,
    salt: p.salt,
    earlyAdopters: p.earlyAdopters,
    pinned: p.pinned.map((x) => ({ unitId: x.unitId, serve: x.serve })),
    rules: p.rules.map((r, i) => {
      if (r.rule?.$case === "unitIdRegex") return { unitIdRegex: r.rule.value };
      if (r.rule?.$case === "attribute") {
        const a = r.rule.value;
        return { attribute: a.attribute, op: OPS[a.operator], values: a.values };
      }
      throw invalidArgument(`rollout.rules[${i}]`, "needs unit_id_regex or attribute");
    }),
    rings: p.rings && { order: p.rings.order, intervalMs: ms(p.rings.interval) ?? 0 },
    percentage:
      pc?.$case === "steps"
        ? { kind: "steps", start: pc.value.start, increment: pc.value.increment, intervalMs: ms(pc.value.interval) ?? 0, target: pc.value.target }
        : pc?.$case === "ramp"
          ? {
              kind: "ramp",
              from: pc.value.from,
              to: pc.value.to,
              startAt: pc.value.startTime?.getTime(),
              endAt: pc.value.endTime?.getTime(),
              durationMs: ms(pc.value.duration),
            }
          : undefined,
    activateAt: p.activateAt?.getTime(),
    variants: p.variants.map((v) => ({ name: v.name, weight: v.weight, value: v.value })),
    interpolate: p.interpolate,
    allowPastStart: p.allowPastStart,
  };
}

/** Every time the plan will store or schedule, computed as buildRollout and milestones() do. */
function checkPlanTimes(input: RolloutInput, now: number): void {
  const origin = input.activateAt ?? now;
  const p = input.percentage;
  if (p?.kind === "ramp") {
    const start = p.startAt ?? (p.endAt !== undefined && p.durationMs !== undefined ? p.endAt - p.durationMs : origin);
    const end = p.endAt ?? (p.durationMs !== undefined ? start + p.durationMs : start);
    inRange(start, `rollout.ramp.${p.startAt === undefined ? "duration" : "start_time"}`, "starts the ramp");
    inRange(end, `rollout.ramp.${p.endAt === undefined ? "duration" : "end_time"}`, "ends the ramp");
  } else if (p?.kind === "steps" && p.intervalMs > 0 && p.increment !== 0) {
    const steps = Math.ceil(Math.abs(p.target - p.start) / Math.abs(p.increment));
    if (Number.isFinite(steps)) inRange(origin + steps * p.intervalMs, "rollout.steps.interval", "puts the last step");
  }
  const rings = input.rings;
  if (rings && rings.order.length > 1 && (rings.intervalMs ?? 0) > 0) {
    inRange(origin + (rings.order.length - 1) * rings.intervalMs!, "rollout.rings.interval", "puts the last ring");
  }
}

function inRange(ms: number, field: string, what: string): void {
  if (!(ms >= TIME_RANGE.min && ms <= TIME_RANGE.max)) throw invalidArgument(field, `${what} outside 0001-01-01 to 9999-12-31 UTC`);
}

/** A plan as a client gave it (kept in a change request until it is applied), back on the wire. */
export function toPbRolloutPlan(input: RolloutInput): PbPlan {
  const p = input.percentage;
  return {
    stable: input.stable,
    salt: input.salt ?? "",
    earlyAdopters: input.earlyAdopters ?? [],
    pinned: (input.pinned ?? []).map((x) => ({ unitId: x.unitId, serve: x.serve })),
    rules: (input.rules ?? []).map((r) =>
      "unitIdRegex" in r
        ? { rule: { $case: "unitIdRegex" as const, value: r.unitIdRegex } }
        : { rule: { $case: "attribute" as const, value: { attribute: r.attribute, operator: r.op === undefined ? 0 : PB_OPS[r.op], values: r.values } } },
    ),
    rings: input.rings && { order: input.rings.order, interval: input.rings.intervalMs ? duration(input.rings.intervalMs) : undefined },
    percentage:
      p?.kind === "steps"
        ? { $case: "steps", value: { start: p.start, increment: p.increment, interval: duration(p.intervalMs), target: p.target } }
        : p?.kind === "ramp"
          ? { $case: "ramp", value: { from: p.from, to: p.to, startTime: date(p.startAt), endTime: date(p.endAt), duration: p.durationMs === undefined ? undefined : duration(p.durationMs) } }
          : undefined,
    activateAt: date(input.activateAt),
    variants: (input.variants ?? []).map((v) => ({ name: v.name, weight: v.weight, value: v.value })),
    interpolate: input.interpolate ?? false,
    allowPastStart: input.allowPastStart ?? false,
  };
}

export function toPbRollout(ro: Rollout): PbRollout {
  const { plan, state } = ro;
  const p = plan.percentage;
  return {
    plan: {
      stable: plan.stable,
      salt: plan.salt,
      earlyAdopters: plan.earlyAdopters,
      pinned: plan.pinned.map((x) => ({ unitId: x.unitId, serve: x.serve })),
      rules: plan.rules.map((r) =>
        "unitIdRegex" in r
          ? { rule: { $case: "unitIdRegex" as const, value: r.unitIdRegex } }
          : { rule: { $case: "attribute" as const, value: { attribute: r.attribute, operator: PB_OPS[r.op], values: r.values } } },
      ),
      rings: plan.rings && { order: plan.rings.order, interval: plan.rings.intervalMs > 0 ? duration(plan.rings.intervalMs) : undefined },
      percentage:
        p?.kind === "steps"
          ? { $case: "steps", value: { start: p.start, increment: p.increment, interval: duration(p.intervalMs), target: p.target } }
          : p?.kind === "ramp"
            ? { $case: "ramp", value: { from: p.from, to: p.to, startTime: new Date(p.startAt), endTime: new Date(p.endAt), duration: duration(p.endAt - p.startAt) } }
            : undefined,
      activateAt: date(plan.activateAt),
      variants: plan.variants.map((v) => ({ name: v.name, weight: v.weight, value: v.value })),
      interpolate: plan.interpolate,
      allowPastStart: false,
    },
    state: {
      startedAt: new Date(state.startedAt),
      paused: state.pausedAt !== undefined,
      pausedAt: date(state.pausedAt),
      shift: duration(state.shiftMs),
      promotedRings: state.promotedRings,
      killed: state.killed,
      milestones: state.milestones,
    },
  };
}
