import { thresholdFor } from "@ctm/core/bucketing";
import { CtmError } from "../../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import type { EvalContext, Reason, Resolution } from "@ctm/core/rollout/plan";
import { percentAt, planTime } from "@ctm/core/rollout/schedule";
import type { ConfigService } from "../../service/config-service.js";
import { OFREP_SOURCE } from "../../service/access-log.js";
import type { OfrepErrorCode } from "./ofrep-error.js";

/** The access log's `source` for what OFREP served, so its evaluations can be told from gRPC Gets. */

/** A flag OFREP answers: what it resolved to, or why not; `record` for the answer's validity (see changesAt). */
export type FlagOutcome =
  | { ok: true; record: LogRecord; resolution: Resolution }
  | { ok: false; record?: LogRecord; status: number; errorCode: OfrepErrorCode; errorDetails: string };

export interface OfrepSuccess {
  key: string;
  value: JsonValue;
  reason: string;
  variant?: string;
  /** Flat, as OFREP requires: ctm's own reason, the entry's version and the revision that wrote it. */
  metadata: { ctmReason: Reason; version: number; revision: number };
}

/**
 * ctm's reasons in OpenFeature's words, as the TypeScript SDK's provider maps them: the rollout's
 * decision for the unit is TARGETING_MATCH (pinned, early adopter, rule) or SPLIT (the bucket);
 * a rollout that has not reached the unit serves its stable value by DEFAULT.
 */
const REASONS: Record<Exclude<Reason, "rolled_back">, string> = {
  static: "STATIC",
  early_adopter: "TARGETING_MATCH",
  pinned: "TARGETING_MATCH",
  rule_match: "TARGETING_MATCH",
  in_rollout: "SPLIT",
  out_of_rollout: "SPLIT",
  variant: "SPLIT",
  scheduled_not_yet: "DEFAULT",
  ring_not_reached: "DEFAULT",
};

/** A kill switch on a rollout is DISABLED; a static value restored by a rollback is STATIC again. */
const reasonOf = (r: Reason, record: LogRecord): string => (r === "rolled_back" ? (record.rollout ? "DISABLED" : "STATIC") : REASONS[r]);

/** The reasons the evaluator gives when the unit's bucket decided (steps 4 and 5 of README "Rollouts"). */
const BY_BUCKET = new Set<Reason>(["in_rollout", "out_of_rollout", "variant"]);

/**
 * Whether this answer hung on the unit's bucket while the plan splits units: the evaluator
 * reached the percentage (its reason says so) and the percentage is strictly between 0 and 100,
 * or the unit got the new value and the plan picks one of several variants for it by bucket.
 * An interpolation serves everyone the same number; a pin names its unit. A unit-less caller
 * would get the empty unit id's bucket, a consistent but arbitrary answer, so OFREP refuses
 * it as TARGETING_KEY_MISSING.
 */
export function neededUnit(record: LogRecord, resolution: Resolution, now: number): boolean {
  const ro = record.rollout;
  const reason = resolution.reason;
  if (ro === undefined || reason === "pinned") return false;
  const { plan, state } = ro;
  const variants = plan.variants.length > 1;
  if (reason === "early_adopter" || reason === "rule_match") return variants;
  if (!BY_BUCKET.has(reason)) return false;
  if (plan.interpolate && typeof plan.stable === "number" && typeof record.value === "number") return false;
  const threshold = thresholdFor(percentAt(plan.percentage, state.startedAt, planTime(state, now)));
  return threshold > 0 && (threshold < 100_000 || variants);
}

/**
 * One flag through ConfigService.resolve, the evaluator and revision gRPC Get answers from.
 * Evaluations with a unit or a request id land in the access log with source "ofrep".
 */
export function evaluateFlag(config: ConfigService, key: string, ctx: EvalContext, now: number): FlagOutcome {
  let got: ReturnType<ConfigService["resolve"]>;
  const unitless = ctx.unitId === "";
  try {
    // Without a unit the answer may be refused below: resolved first without the request id,
    // so that a refusal is not recorded as served.
    got = config.resolve(key, unitless && ctx.requestId ? { ...ctx, requestId: "" } : ctx, OFREP_SOURCE);
  } catch (e) {
    // A key that cannot exist is as absent as a deleted one.
    if (e instanceof CtmError && (e.code === "not_found" || e.code === "invalid_argument")) {
      return { ok: false, status: 404, errorCode: "FLAG_NOT_FOUND", errorDetails: e.message };
    }
    throw e;
  }
  const { record, resolution } = got;
  if (unitless && neededUnit(record, resolution, now)) {
    return { ok: false, record, status: 400, errorCode: "TARGETING_KEY_MISSING", errorDetails: `"${key}" splits units by bucket: the context needs a targetingKey` };
  }
  if (unitless && ctx.requestId) config.served(key, ctx, record, resolution, OFREP_SOURCE, now);
  if (resolution.value === undefined) return { ok: false, status: 404, errorCode: "FLAG_NOT_FOUND", errorDetails: `key "${key}" has no value` };
  return { ok: true, record, resolution };
}

/** OFREP's evaluation success for a resolution that has a value. */
export function successBody(record: LogRecord, resolution: Resolution): OfrepSuccess {
  const body: OfrepSuccess = {
    key: record.key,
    value: resolution.value!,
    reason: reasonOf(resolution.reason, record),
    metadata: { ctmReason: resolution.reason, version: record.version, revision: record.revision },
  };
  if (resolution.variant !== "") body.variant = resolution.variant;
  return body;
}
