import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { invalidArgument } from "../errors.js";
import { documentChecker } from "../validation/document-checker.js";
import { checkGlob, globMatcher } from "../validation/key-glob.js";

export { COMPACTIONS_KEY, HOLD_PREFIX, RETENTION_PREFIX } from "./retention-keys.js";

export interface RetentionPolicy {
  readonly name: string;
  readonly keys: readonly string[];
  /** Keep the values of each key's last N versions (its current one included): a version leaves once N newer ones exist. */
  readonly keepVersions?: number;
  /** Keep a superseded value at least this long after it was superseded. */
  readonly keepForMs?: number;
  /** Keep who, when, why and kind at least this long after it was superseded; absent: forever. */
  readonly keepAuditForMs?: number;
  readonly matches: (key: string) => boolean;
}

export interface Hold {
  readonly name: string;
  readonly keys: readonly string[];
  readonly reason: string;
  readonly matches: (key: string) => boolean;
}

/** 100 years: longer than any store will live, short enough to stay an exact number of ms. */
const MAX_MS = 100 * 365 * 86_400_000;
const keysSchema = { type: "array", minItems: 1, maxItems: 100, items: { type: "string", minLength: 1, maxLength: 256 } } as const;

const checkPolicyDocument = documentChecker({
  type: "object",
  properties: {
    keys: keysSchema,
    keepVersions: { type: "integer", minimum: 1, maximum: 1_000_000 },
    keepForMs: { type: "integer", minimum: 0, maximum: MAX_MS },
    keepAuditForMs: { type: "integer", minimum: 0, maximum: MAX_MS },
    description: { type: "string", maxLength: 4096 },
  },
  required: ["keys"],
  additionalProperties: false,
});

const checkHoldDocument = documentChecker({
  type: "object",
  properties: { keys: keysSchema, reason: { type: "string", minLength: 1, maxLength: 4096 } },
  required: ["keys", "reason"],
  additionalProperties: false,
});

/** Reads a stored (or about to be stored) policy; INVALID_ARGUMENT names the bad member under `field`. */
export function policyFromJson(name: string, doc: JsonValue | undefined, field = "value"): RetentionPolicy {
  checkPolicyDocument(doc ?? null, field);
  const d = doc as { keys: string[]; keepVersions?: number; keepForMs?: number; keepAuditForMs?: number };
  d.keys.forEach((k, i) => checkGlob(k, `${field}.keys[${i}]`));
  if (d.keepVersions === undefined && d.keepForMs === undefined) {
    throw invalidArgument(`${field}.keepForMs`, "or keepVersions is required: a policy that keeps everything is no policy");
  }
  if (d.keepAuditForMs !== undefined && d.keepForMs !== undefined && d.keepAuditForMs < d.keepForMs) {
    throw invalidArgument(`${field}.keepAuditForMs`, "must be at least keepForMs: the audit trail outlives the value");
  }
  return {
    name,
    keys: [...d.keys],
    ...(d.keepVersions !== undefined ? { keepVersions: d.keepVersions } : {}),
    ...(d.keepForMs !== undefined ? { keepForMs: d.keepForMs } : {}),
    ...(d.keepAuditForMs !== undefined ? { keepAuditForMs: d.keepAuditForMs } : {}),
    matches: globMatcher(d.keys),
  };
}

export function holdFromJson(name: string, doc: JsonValue | undefined, field = "value"): Hold {
  checkHoldDocument(doc ?? null, field);
  const d = doc as { keys: string[]; reason: string };
  d.keys.forEach((k, i) => checkGlob(k, `${field}.keys[${i}]`));
  return { name, keys: [...d.keys], reason: d.reason, matches: globMatcher(d.keys) };
}

/**
 * Revisions that stand for ages: a record superseded at or before `valueCutoff` was superseded
 * at least keepForMs ago (times never decrease with revisions). Computed once per run.
 */
export interface PolicyCutoffs {
  readonly value: number;
  readonly audit: number;
}

/** What is known of a superseded record when deciding its fate. */
export interface Superseded {
  readonly record: LogRecord;
  /** The revision of the key's next version. */
  readonly supersededAt: number;
  /** How many versions of the key follow it. */
  readonly newer: number;
}

/**
 * What the retention policies do with a superseded record: the most careful verdict of every
 * policy whose globs match its key. A key no policy covers, or a hold covers, keeps everything.
 */
export function retentionVerdict(s: Superseded, policies: readonly { policy: RetentionPolicy; cutoffs: PolicyCutoffs }[], holds: readonly Hold[]): "keep" | "strip" | "remove" {
  const key = s.record.key;
  if (holds.some((h) => h.matches(key))) return "keep";
  let verdict: "keep" | "strip" | "remove" | undefined;
  for (const { policy, cutoffs } of policies) {
    if (!policy.matches(key)) continue;
    const enoughNewer = policy.keepVersions === undefined || s.newer >= policy.keepVersions;
    const valueAged = policy.keepForMs === undefined || s.supersededAt <= cutoffs.value;
    const auditAged = policy.keepAuditForMs !== undefined && s.supersededAt <= cutoffs.audit;
    const mine = !enoughNewer || !valueAged ? "keep" : auditAged ? "remove" : "strip";
    verdict = verdict === undefined ? mine : RANK[mine] < RANK[verdict] ? mine : verdict;
    if (verdict === "keep") return "keep";
  }
  return verdict ?? "keep";
}

const RANK = { keep: 0, strip: 1, remove: 2 } as const;
