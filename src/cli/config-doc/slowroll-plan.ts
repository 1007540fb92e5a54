import type { JsonValue } from "@ctm/core/json";
import { fromSlowroll, toSlowroll, type SlowrollFeature } from "../../domain/rollout/slowroll.js";
import type { RolloutPlan } from "../../gen/ctm/v1/rollout.js";
import { domainCheck } from "./domain-check.js";
import { toPbDuration } from "../parse/parse-duration.js";

/** A slowroll feature as the value and RolloutPlan of a Set: a 0 -> 100% ramp ending at end_time, early adopters first. */
export function slowrollToPlan(f: SlowrollFeature, field: string): { value: unknown; rollout: RolloutPlan } {
  const mapped = domainCheck(() => fromSlowroll(f, field));
  const p = mapped.rollout.percentage;
  if (p?.kind !== "ramp") throw new Error("fromSlowroll did not map to a ramp");
  return {
    value: mapped.value,
    rollout: {
      stable: mapped.rollout.stable,
      salt: "",
      earlyAdopters: mapped.rollout.earlyAdopters ?? [],
      pinned: [],
      rules: [],
      rings: undefined,
      percentage: {
        $case: "ramp",
        value: { from: p.from, to: p.to, endTime: p.endAt === undefined ? undefined : new Date(p.endAt), duration: p.durationMs === undefined ? undefined : toPbDuration(p.durationMs) },
      },
      activateAt: undefined,
      variants: [],
      interpolate: false,
      allowPastStart: false,
    },
  };
}

const ms = (d: { seconds: number; nanos: number } | undefined) => (d ? d.seconds * 1000 + d.nanos / 1e6 : undefined);

/**
 * The slowroll form of a rolling value, or undefined when slowroll cannot express its plan
 * (anything but a 0 -> 100% ramp with early adopters, or a salt other than the key).
 */
export function planToSlowroll(key: string, value: unknown, plan: RolloutPlan): SlowrollFeature | undefined {
  if (plan.salt !== "" && plan.salt !== key) return undefined;
  const pc = plan.percentage;
  const ramp = pc?.$case === "ramp" ? pc.value : undefined;
  const startAt = ramp?.startTime?.getTime() ?? (ramp?.endTime && ramp.duration ? ramp.endTime.getTime() - ms(ramp.duration)! : undefined);
  return toSlowroll(value as JsonValue, {
    stable: plan.stable as JsonValue,
    earlyAdopters: plan.earlyAdopters,
    percentage: pc === undefined ? undefined : { kind: pc.$case, from: ramp?.from, to: ramp?.to, startAt, endAt: ramp?.endTime?.getTime() },
    pinned: plan.pinned,
    rules: plan.rules,
    rings: plan.rings,
    variants: plan.variants,
    activateAt: plan.activateAt?.getTime(),
    interpolate: plan.interpolate,
  });
}
