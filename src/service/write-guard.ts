import type { JsonValue } from "../domain/json.js";
import type { Rollout } from "../domain/rollout/plan.js";

/**
 * Checked synchronously before a set is written (validators, reserved-key
 * definitions). Throws to refuse; nothing is written then. `field` prefixes
 * error fields (e.g. "operations[2].set.").
 */
export interface WriteGuard {
  checkWrite(key: string, value: JsonValue, rollout: Rollout | undefined, field: string): void;
}

/** The values a write would serve: the value, and a rollout's stable value and variants. */
export function candidates(value: JsonValue, rollout: Rollout | undefined, field: string): { field: string; value: JsonValue }[] {
  const out = [{ field: `${field}value`, value }];
  if (rollout) {
    out.push({ field: `${field}rollout.stable`, value: rollout.plan.stable });
    rollout.plan.variants.forEach((v, i) => out.push({ field: `${field}rollout.variants[${i}].value`, value: v.value }));
  }
  return out;
}
