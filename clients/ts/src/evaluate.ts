/**
 * Local evaluation: the daemon's own pure evaluate() and bucketing, from the package both share
 * (@ctm/core), applied to Entries received over the wire. A unit resolves here exactly as the daemon's Get resolves it at the same time.
 */
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { evaluate } from "@ctm/core/rollout/evaluate";
import type { Reason } from "@ctm/core/rollout/plan";
import { toEvalContext, toRecord, type Context } from "./convert.js";
import type { Entry } from "./gen/ctm/v1/record.js";

export { BUCKETING_ALGORITHM, BUCKETS, bucket, inPercentage, pickVariant, thresholdFor, variantBucket } from "@ctm/core/bucketing";
export type { JsonValue, Reason };

/** What a unit is served: the value, "stable" / "new" / a variant name ("" when static), and why. */
export interface Evaluation {
  key: string;
  value: JsonValue | undefined;
  variant: string;
  reason: Reason;
  /** The entry it was resolved from (its version, revision, rollout...). */
  entry: Entry;
}

// Entries are immutable once received: map each to its domain record once, so the domain's
// per-rollout compiled plan (regexes, sets) is built once per entry, not per evaluation.
const records = new WeakMap<Entry, LogRecord>();

export function recordOf(entry: Entry): LogRecord {
  let r = records.get(entry);
  if (r === undefined) {
    r = toRecord(entry);
    records.set(entry, r);
  }
  return r;
}

/** Resolves `entry` for `context` at time `now` (ms), as the daemon would. */
export function evaluateEntry(entry: Entry, context?: Context, now: number = Date.now()): Evaluation {
  const res = evaluate(recordOf(entry), toEvalContext(context), now);
  return { key: entry.key, value: res.value, variant: res.variant, reason: res.reason, entry };
}

/**
 * Whether a resolved value turns a flag on: JavaScript truthiness. true, non-zero numbers,
 * non-empty strings, objects and arrays are on; false, 0, NaN, "", null and a missing key are off.
 */
export const truthy = (v: JsonValue | undefined): boolean => Boolean(v);
