import type { JsonValue } from "@ctm/core/json";
import { checkKey, checkValue } from "../../domain/limits.js";
import type { ApplyOperation } from "../../gen/ctm/v1/config_service.js";
import { planFromJson } from "../parse/plan-json.js";
import type { ConfigDoc } from "./config-doc.js";
import { domainCheck } from "./domain-check.js";
import { slowrollToPlan } from "./slowroll-plan.js";

export interface ImportPlan {
  /** Every write of the import, plain and rolling: one atomic Apply. */
  operations: ApplyOperation[];
  /** How many of them carry a rollout. */
  rollouts: number;
}

/**
 * The writes of an import, in one batch. Keys, values and slowroll fields are checked
 * here first with the daemon's own pure checks, so mistakes are named by the document's
 * own field (features.<key>.end_time) before anything is sent.
 */
export function importPlan(doc: Required<ConfigDoc>, allowPastStart = false): ImportPlan {
  const rolling = [
    ...Object.entries(doc.features).map(([key, f]) => ({ key, field: `features.${key}`, ...slowrollToPlan(f, `features.${key}`) })),
    ...Object.entries(doc.rollouts).map(([key, r]) => ({ key, field: `rollouts.${key}`, value: r.value, rollout: planFromJson(r.rollout, `rollouts.${key}.rollout`) })),
  ];
  for (const r of rolling) {
    // A live slowroll or an exported rollout started in the past: resuming it mid-way is asked for explicitly.
    if (allowPastStart) r.rollout.allowPastStart = true;
    domainCheck(() => checkKey(r.key, r.field));
    domainCheck(() => checkValue(r.value as JsonValue, `${r.field}.value`));
  }
  return {
    operations: [
      ...Object.entries(doc.keys).map(([key, value]): ApplyOperation => ({ operation: { $case: "set", value: { key, value } } })),
      ...rolling.map(({ key, value, rollout }): ApplyOperation => ({ operation: { $case: "set", value: { key, value, rollout } } })),
    ],
    rollouts: rolling.length,
  };
}
