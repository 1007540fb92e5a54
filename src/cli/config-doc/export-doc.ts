import type { Entry } from "../../gen/ctm/v1/record.js";
import { RolloutPlan } from "../../gen/ctm/v1/rollout.js";
import type { ConfigDoc } from "./config-doc.js";
import { planToSlowroll } from "./slowroll-plan.js";

/** The daemon answers a ramp with start, end and duration; a plan gives two of them. */
function withoutRampDuration(plan: RolloutPlan): RolloutPlan {
  const pc = plan.percentage;
  if (pc?.$case !== "ramp" || !pc.value.startTime || !pc.value.endTime) return plan;
  return { ...plan, percentage: { $case: "ramp", value: { ...pc.value, duration: undefined } } };
}

/** The import format of a snapshot: slowroll features where the plan allows, whole plans otherwise. */
export function exportDoc(entries: Entry[]): ConfigDoc {
  const doc: Required<ConfigDoc> = { keys: {}, features: {}, rollouts: {} };
  for (const e of entries) {
    const plan = e.rollout?.plan;
    if (!plan) {
      doc.keys[e.key] = e.value;
      continue;
    }
    const feature = planToSlowroll(e.key, e.value, plan);
    if (feature) doc.features[e.key] = feature;
    else doc.rollouts[e.key] = { value: e.value, rollout: RolloutPlan.toJSON(withoutRampDuration(plan)) };
  }
  const out: ConfigDoc = { keys: doc.keys };
  if (Object.keys(doc.features).length) out.features = doc.features;
  if (Object.keys(doc.rollouts).length) out.rollouts = doc.rollouts;
  return out;
}
