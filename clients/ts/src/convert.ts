/**
 * Proto -> domain mapping: the inverse of the daemon's src/transport/grpc/entry-mapper.ts
 * (toEntry) and rollout-mapper.ts (toPbRollout), so that an Entry received over the wire
 * evaluates locally exactly as the record it came from evaluates in the daemon.
 */
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord, RecordKind as DomainKind } from "@ctm/core/record";
import type { AttributeOp, EvalContext, Percentage, Reason, Rollout, RolloutPlan, RolloutState, Rule } from "@ctm/core/rollout/plan";
import { RecordKind, type Entry } from "./gen/ctm/v1/record.js";
import { AttributeOperator, Reason as PbReason, type EvaluationContext, type Rollout as PbRollout, type TargetingRule } from "./gen/ctm/v1/rollout.js";
import type { Duration } from "./gen/google/protobuf/duration.js";

/** Who is asking, for `get(key, context)`: every field is optional. */
export interface Context {
  /** The unit that is bucketed: a user, a host, a tenant. */
  unitId?: string;
  /** Matched against the plan's rings. */
  environment?: string;
  /** For attribute rules. */
  attributes?: Readonly<Record<string, string>>;
  /** Sent as EvaluationContext.request_id on RPCs (ignored locally). */
  requestId?: string;
}

// Typed by the domain's kinds: a kind added there fails to compile here until it is mapped.
const KINDS: Record<DomainKind, RecordKind> = {
  set: RecordKind.RECORD_KIND_SET,
  delete: RecordKind.RECORD_KIND_DELETE,
  rollback: RecordKind.RECORD_KIND_ROLLBACK,
  rollout_milestone: RecordKind.RECORD_KIND_ROLLOUT_MILESTONE,
  rollout_finalized: RecordKind.RECORD_KIND_ROLLOUT_FINALIZED,
  rollout_paused: RecordKind.RECORD_KIND_ROLLOUT_PAUSED,
  rollout_resumed: RecordKind.RECORD_KIND_ROLLOUT_RESUMED,
  rollout_promoted: RecordKind.RECORD_KIND_ROLLOUT_PROMOTED,
  rollout_aborted: RecordKind.RECORD_KIND_ROLLOUT_ABORTED,
  rollout_killed: RecordKind.RECORD_KIND_ROLLOUT_KILLED,
  auto_rollback: RecordKind.RECORD_KIND_AUTO_ROLLBACK,
  compaction: RecordKind.RECORD_KIND_COMPACTION,
};
const DOMAIN_KINDS = new Map<RecordKind, DomainKind>(Object.entries(KINDS).map(([k, v]) => [v, k as DomainKind]));

const OPS: Record<AttributeOp, AttributeOperator> = {
  equals: AttributeOperator.ATTRIBUTE_OPERATOR_EQUALS,
  not_equals: AttributeOperator.ATTRIBUTE_OPERATOR_NOT_EQUALS,
  in: AttributeOperator.ATTRIBUTE_OPERATOR_IN,
  not_in: AttributeOperator.ATTRIBUTE_OPERATOR_NOT_IN,
  semver_eq: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_EQ,
  semver_gt: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GT,
  semver_gte: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GTE,
  semver_lt: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_LT,
  semver_lte: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_LTE,
};
const DOMAIN_OPS = new Map<AttributeOperator, AttributeOp>(Object.entries(OPS).map(([k, v]) => [v, k as AttributeOp]));

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
const DOMAIN_REASONS = new Map<PbReason, Reason>(Object.entries(REASONS).map(([k, v]) => [v, k as Reason]));

export const toPbReason = (r: Reason): PbReason => REASONS[r];
/** A proto Reason as the domain names it ("in_rollout"...); undefined for UNSPECIFIED. */
export const fromPbReason = (r: PbReason): Reason | undefined => DOMAIN_REASONS.get(r);
/** A proto RecordKind as the domain names it; undefined for an unknown kind. */
export const fromPbKind = (k: RecordKind): DomainKind | undefined => DOMAIN_KINDS.get(k);

/** The daemon's ms(): seconds * 1000 + floor(nanos / 1e6). */
const ms = (d: Duration | undefined): number | undefined => (d === undefined ? undefined : d.seconds * 1000 + Math.floor(d.nanos / 1e6));
const time = (d: Date | undefined): number | undefined => (d === undefined ? undefined : d.getTime());

function fromPbRule(r: TargetingRule, i: number): Rule {
  const rule = r.rule;
  if (rule?.$case === "unitIdRegex") return { unitIdRegex: rule.value };
  if (rule?.$case === "attribute") {
    const op = DOMAIN_OPS.get(rule.value.operator);
    if (op === undefined) throw new Error(`rollout.plan.rules[${i}]: unknown attribute operator ${rule.value.operator}`);
    return { attribute: rule.value.attribute, op, values: [...rule.value.values] };
  }
  throw new Error(`rollout.plan.rules[${i}]: needs unit_id_regex or attribute`);
}

/**
 * The domain Rollout of an Entry's `rollout`: the inverse of the daemon's toPbRollout.
 * A ramp sent with only two of start/end/duration is completed the way the daemon
 * completes a plan (start defaults to the rollout's start).
 */
export function fromPbRollout(ro: PbRollout): Rollout | undefined {
  const p = ro.plan;
  const s = ro.state;
  if (p === undefined) return undefined;
  const state: RolloutState = {
    startedAt: time(s?.startedAt) ?? 0,
    pausedAt: s?.paused ? (time(s.pausedAt) ?? time(s.startedAt) ?? 0) : undefined,
    shiftMs: ms(s?.shift) ?? 0,
    promotedRings: s?.promotedRings ?? 0,
    killed: s?.killed ?? false,
    milestones: s?.milestones ?? 0,
  };
  if (state.pausedAt === undefined) delete state.pausedAt;
  const pc = p.percentage;
  let percentage: Percentage | undefined;
  if (pc?.$case === "steps") {
    const v = pc.value;
    percentage = { kind: "steps", start: v.start, increment: v.increment, intervalMs: ms(v.interval) ?? 0, target: v.target };
  } else if (pc?.$case === "ramp") {
    const v = pc.value;
    const dur = ms(v.duration);
    const startAt = time(v.startTime) ?? (v.endTime !== undefined && dur !== undefined ? v.endTime.getTime() - dur : state.startedAt);
    const endAt = time(v.endTime) ?? startAt + (dur ?? 0);
    percentage = { kind: "ramp", from: v.from, to: v.to, startAt, endAt };
  }
  const plan: RolloutPlan = {
    stable: (p.stable ?? null) as JsonValue,
    salt: p.salt,
    earlyAdopters: [...p.earlyAdopters],
    pinned: p.pinned.map((x) => ({ unitId: x.unitId, serve: x.serve })),
    rules: p.rules.map(fromPbRule),
    variants: p.variants.map((v) => ({ name: v.name, weight: v.weight, value: (v.value ?? null) as JsonValue })),
    interpolate: p.interpolate,
  };
  if (p.rings !== undefined) plan.rings = { order: [...p.rings.order], intervalMs: ms(p.rings.interval) ?? 0 };
  if (percentage !== undefined) plan.percentage = percentage;
  if (p.activateAt !== undefined) plan.activateAt = p.activateAt.getTime();
  return { plan, state };
}

/** The domain record of an Entry: the inverse of the daemon's toEntry. */
export function toRecord(e: Entry): LogRecord {
  const rollout = e.rollout && fromPbRollout(e.rollout);
  const r: { -readonly [K in keyof LogRecord]: LogRecord[K] } = {
    revision: e.revision,
    key: e.key,
    version: e.version,
    deleted: e.deleted,
    time: e.time?.getTime() ?? 0,
    author: e.author,
    message: e.message,
    // An unknown kind (a newer daemon) evaluates like a plain set.
    kind: fromPbKind(e.kind) ?? "set",
    cause: e.cause,
  };
  if (e.valueCompacted) r.valueCompacted = true;
  else if (!e.deleted) r.value = (e.value ?? null) as JsonValue;
  if (e.rolledBackTo) r.rolledBackTo = e.rolledBackTo;
  if (e.principal) r.principal = e.principal;
  if (rollout) r.rollout = rollout;
  return r;
}

export function toEvalContext(c: Context | undefined): EvalContext {
  return { unitId: c?.unitId ?? "", environment: c?.environment ?? "", attributes: c?.attributes ?? {}, requestId: c?.requestId ?? "" };
}

export function toPbContext(c: Context | undefined): EvaluationContext | undefined {
  if (c === undefined) return undefined;
  return { unitId: c.unitId ?? "", environment: c.environment ?? "", attributes: { ...(c.attributes ?? {}) }, requestId: c.requestId ?? "" };
}
