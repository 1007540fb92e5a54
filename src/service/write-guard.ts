import { CtmError, invalidArgument } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft } from "@ctm/core/record";
import type { Rollout } from "@ctm/core/rollout/plan";

/**
 * Checked synchronously before a set is written (validators, reserved-key
 * definitions). Throws to refuse; nothing is written then. `field` prefixes
 * error fields (e.g. "operations[2].set.").
 */
export interface WriteGuard {
  checkWrite(key: string, value: JsonValue, rollout: Rollout | undefined, field: string): void;
  /**
   * Checked before a rollback restores an old value (Rollback, RollbackPrefix).
   * Reserved documents must be valid by today's rules: an old definition that
   * would no longer be accepted must not come back through the side door.
   * Values of ordinary keys are restored as they were once served, without
   * consulting validators: a rollback is the way out of a bad state.
   */
  checkRestore?(key: string, value: JsonValue): void;
}

/**
 * Runs every guard's checkRestore on a rollback draft (a tombstone restores
 * nothing to check). A refusal is INVALID_ARGUMENT naming `field` (the
 * request's to_version, or to) and saying which version of which key.
 */
export function guardRestore(guards: readonly WriteGuard[], draft: Draft, field: string): void {
  if (draft.deleted || draft.value === undefined) return;
  for (const g of guards) {
    try {
      g.checkRestore?.(draft.key, draft.value);
    } catch (e) {
      if (!(e instanceof CtmError) || e.code !== "invalid_argument") throw e;
      throw invalidArgument(field, `would restore version ${draft.rolledBackTo} of "${draft.key}", which is not valid today (${e.message})`);
    }
  }
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
