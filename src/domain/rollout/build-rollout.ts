import { invalidArgument } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { checkValue } from "../limits.js";
import { compileRegex } from "@ctm/core/rollout/compiled-plan";
import semver from "semver";
import { dueMilestones } from "@ctm/core/rollout/schedule";
import { NEW, STABLE, type AttributeOp, type Rollout, type RolloutPlan, type Rule, type Variant } from "@ctm/core/rollout/plan";

/** A plan as a client states it: optional parts, a ramp given by any two of start, end and duration. */
export interface RolloutInput {
  stable?: JsonValue;
  salt?: string;
  earlyAdopters?: string[];
  pinned?: { unitId: string; serve: string }[];
  rules?: ({ unitIdRegex: string } | { attribute: string; op: AttributeOp | undefined; values: string[] })[];
  rings?: { order: string[]; intervalMs?: number };
  percentage?:
    | { kind: "steps"; start: number; increment: number; intervalMs: number; target: number }
    | { kind: "ramp"; from: number; to: number; startAt?: number; endAt?: number; durationMs?: number };
  activateAt?: number;
  variants?: Variant[];
  interpolate?: boolean;
  /** Accept an activation or ramp start more than PAST_START_TOLERANCE_MS ago (milestones already due fire at once). */
  allowPastStart?: boolean;
}

/** Clock skew between a client and ctmd: a start this little in the past is taken as "now". */
export const PAST_START_TOLERANCE_MS = 60_000;

export const ROLLOUT_LIMITS = { listEntries: 10_000, rules: 100, regexChars: 512, variants: 100, rings: 32, steps: 10_000 } as const;

const F = "rollout";
const SINGLE_VALUE_OPS = new Set<AttributeOp>(["equals", "not_equals", "semver_eq", "semver_gt", "semver_gte", "semver_lt", "semver_lte"]);

/**
 * Checks a plan and fixes its clock: the origin is the activation time, or
 * `now`. Every problem is INVALID_ARGUMENT naming the field, e.g.
 * `rollout.steps.interval`.
 */
export function buildRollout(input: RolloutInput, ctx: { key: string; value: JsonValue; currentStable: JsonValue | undefined; now: number }): Rollout {
  const stable = input.stable ?? ctx.currentStable;
  if (stable === undefined) throw invalidArgument(`${F}.stable`, "is required when the key has no current value");
  checkValue(stable, `${F}.stable`);
  const salt = input.salt || ctx.key;
  if (salt.length > 256) throw invalidArgument(`${F}.salt`, "must be at most 256 characters");
  const origin = input.activateAt ?? ctx.now;

  const earlyAdopters = units(input.earlyAdopters ?? [], `${F}.early_adopters`);
  const variants = checkVariants(input.variants ?? []);
  const names = new Set([STABLE, NEW, ...variants.map((v) => v.name)]);
  const pinned = (input.pinned ?? []).map((p, i) => {
    const f = `${F}.pinned[${i}]`;
    if (!p.unitId) throw invalidArgument(`${f}.unit_id`, "must not be empty");
    if (!names.has(p.serve)) throw invalidArgument(`${f}.serve`, `must be "stable", "new" or a variant name, not "${p.serve}"`);
    return { unitId: p.unitId, serve: p.serve };
  });
  if (new Set(pinned.map((p) => p.unitId)).size !== pinned.length) throw invalidArgument(`${F}.pinned`, "names a unit twice");
  const rules = checkRules(input.rules ?? []);

  let rings: RolloutPlan["rings"];
  if (input.rings && input.rings.order.length > 0) {
    const order = input.rings.order;
    if (order.length > ROLLOUT_LIMITS.rings) throw invalidArgument(`${F}.rings.order`, `must name at most ${ROLLOUT_LIMITS.rings} rings`);
    if (order.some((r) => r === "")) throw invalidArgument(`${F}.rings.order`, "must not hold an empty name");
    if (new Set(order).size !== order.length) throw invalidArgument(`${F}.rings.order`, "names a ring twice");
    const intervalMs = input.rings.intervalMs ?? 0;
    if (!(intervalMs >= 0)) throw invalidArgument(`${F}.rings.interval`, "must not be negative");
    rings = { order: [...order], intervalMs };
  }

  let percentage: RolloutPlan["percentage"];
  const p = input.percentage;
  if (p?.kind === "steps") {
    const f = `${F}.steps`;
    pct(p.start, `${f}.start`);
    pct(p.target, `${f}.target`);
    if (!(p.intervalMs > 0)) throw invalidArgument(`${f}.interval`, "must be positive");
    if (p.start === p.target) throw invalidArgument(`${f}.target`, "must differ from start");
    if (!(Math.sign(p.increment) === Math.sign(p.target - p.start))) {
      throw invalidArgument(`${f}.increment`, "must move from start toward target (negative to ramp down)");
    }
    if (Math.abs(p.target - p.start) / Math.abs(p.increment) > ROLLOUT_LIMITS.steps) {
      throw invalidArgument(`${f}.increment`, `makes more than ${ROLLOUT_LIMITS.steps} steps`);
    }
    percentage = { kind: "steps", start: p.start, increment: p.increment, intervalMs: p.intervalMs, target: p.target };
  } else if (p?.kind === "ramp") {
    const f = `${F}.ramp`;
    pct(p.from, `${f}.from`);
    pct(p.to, `${f}.to`);
    if (p.from === p.to) throw invalidArgument(`${f}.to`, "must differ from from");
    if (p.durationMs !== undefined && !(p.durationMs > 0)) throw invalidArgument(`${f}.duration`, "must be positive");
    if (p.startAt !== undefined && p.endAt !== undefined && p.durationMs !== undefined) {
      throw invalidArgument(`${f}`, "give two of start_time, end_time and duration, not all three");
    }
    const startAt = p.startAt ?? (p.endAt !== undefined && p.durationMs !== undefined ? p.endAt - p.durationMs : origin);
    const endAt = p.endAt ?? (p.durationMs !== undefined ? startAt + p.durationMs : undefined);
    if (endAt === undefined) throw invalidArgument(`${f}.end_time`, "or duration is required");
    if (!(endAt > startAt)) throw invalidArgument(`${f}.end_time`, "must be after start_time");
    percentage = { kind: "ramp", from: p.from, to: p.to, startAt, endAt };
  }

  const interpolate = input.interpolate ?? false;
  if (interpolate && (typeof stable !== "number" || typeof ctx.value !== "number")) {
    throw invalidArgument(`${F}.interpolate`, "needs a number as both the stable and the new value");
  }
  if (interpolate && variants.length > 0) throw invalidArgument(`${F}.interpolate`, "cannot be combined with variants");
  const plan: RolloutPlan = { stable, salt, earlyAdopters, pinned, rules, variants, interpolate };
  if (rings) plan.rings = rings;
  if (percentage) plan.percentage = percentage;
  if (input.activateAt !== undefined) plan.activateAt = input.activateAt;
  const rollout: Rollout = { plan, state: { startedAt: origin, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0 } };
  if (!input.allowPastStart) refusePastStart(rollout, input, ctx.now);
  return rollout;
}

/**
 * A start in the past makes the scheduler write every milestone due since then
 * at once (a 72-hour ramp finalized in a tick), which is never what a typo
 * meant: it takes allow_past_start. The message lists what would fire.
 */
function refusePastStart(ro: Rollout, input: RolloutInput, now: number): void {
  const p = ro.plan.percentage;
  const late = now - PAST_START_TOLERANCE_MS;
  const rampField = input.percentage?.kind === "ramp" && input.percentage.startAt === undefined ? "end_time" : "start_time";
  const field =
    input.activateAt !== undefined && input.activateAt < late
      ? `${F}.activate_at`
      : p?.kind === "ramp" && p.startAt < late
        ? `${F}.ramp.${rampField}`
        : undefined;
  if (field === undefined) return;
  const start = field.endsWith("activate_at") ? input.activateAt! : (p as { startAt: number }).startAt;
  const due = dueMilestones(ro.plan, ro.state, now);
  const fires = due.length === 0 ? "the plan jumps ahead to where it would be now" : `${due.length} milestone${due.length === 1 ? "" : "s"} would fire at once (${due.map((m) => m.description).join("; ")})`;
  throw invalidArgument(
    field,
    `starts at ${new Date(start).toISOString()}, ${ago(now - start)} in the past: ${fires}; choose a later time, or set allow_past_start to accept that`,
  );
}

const ago = (ms: number): string => {
  const m = Math.round(ms / 60_000);
  return m < 120 ? `${m} min` : m < 48 * 60 ? `${Math.round(m / 60)} h` : `${Math.round(m / 1440)} days`;
};

function pct(x: number, field: string): void {
  if (!(x >= 0 && x <= 100)) throw invalidArgument(field, "must be a percentage from 0 to 100");
}

function units(list: string[], field: string): string[] {
  if (list.length > ROLLOUT_LIMITS.listEntries) throw invalidArgument(field, `must hold at most ${ROLLOUT_LIMITS.listEntries} units`);
  list.forEach((u, i) => {
    if (u === "") throw invalidArgument(`${field}[${i}]`, "must not be empty");
  });
  return [...new Set(list)];
}

function checkVariants(vs: Variant[]): Variant[] {
  if (vs.length > ROLLOUT_LIMITS.variants) throw invalidArgument(`${F}.variants`, `must hold at most ${ROLLOUT_LIMITS.variants}`);
  const seen = new Set<string>();
  vs.forEach((v, i) => {
    const f = `${F}.variants[${i}]`;
    if (!v.name) throw invalidArgument(`${f}.name`, "must not be empty");
    if (v.name === STABLE || v.name === NEW) throw invalidArgument(`${f}.name`, `"${v.name}" is reserved`);
    if (seen.has(v.name)) throw invalidArgument(`${f}.name`, `"${v.name}" is used twice`);
    seen.add(v.name);
    if (!(Number.isInteger(v.weight) && v.weight >= 0)) throw invalidArgument(`${f}.weight`, "must be a non-negative integer");
    checkValue(v.value, `${f}.value`);
  });
  if (vs.length > 0 && vs.every((v) => v.weight === 0)) throw invalidArgument(`${F}.variants`, "need a positive total weight");
  return vs.map((v) => ({ name: v.name, weight: v.weight, value: v.value }));
}

function checkRules(rules: NonNullable<RolloutInput["rules"]>): Rule[] {
  if (rules.length > ROLLOUT_LIMITS.rules) throw invalidArgument(`${F}.rules`, `must hold at most ${ROLLOUT_LIMITS.rules}`);
  return rules.map((r, i): Rule => {
    const f = `${F}.rules[${i}]`;
    if ("unitIdRegex" in r) {
      if (r.unitIdRegex.length > ROLLOUT_LIMITS.regexChars) throw invalidArgument(`${f}.unit_id_regex`, `must be at most ${ROLLOUT_LIMITS.regexChars} characters`);
      try {
        compileRegex(r.unitIdRegex);
      } catch (e) {
        // RE2 refuses what cannot run in linear time (backreferences, lookaround) and huge repetitions.
        throw invalidArgument(`${f}.unit_id_regex`, `is not a linear-time (RE2) regex: ${(e as Error).message}`);
      }
      return { unitIdRegex: r.unitIdRegex };
    }
    if (!r.attribute) throw invalidArgument(`${f}.attribute.attribute`, "must not be empty");
    if (r.op === undefined) throw invalidArgument(`${f}.attribute.operator`, "is required");
    if (SINGLE_VALUE_OPS.has(r.op) && r.values.length !== 1) throw invalidArgument(`${f}.attribute.values`, `${r.op} takes exactly one value`);
    if (r.values.length === 0) throw invalidArgument(`${f}.attribute.values`, "must hold at least one value");
    if (r.op.startsWith("semver_") && semver.valid(r.values[0]!) === null) {
      throw invalidArgument(`${f}.attribute.values`, `"${r.values[0]}" is not a semantic version`);
    }
    return { attribute: r.attribute, op: r.op, values: [...r.values] };
  });
}
