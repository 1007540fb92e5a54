import { inPercentage } from "../bucketing.js";
import type { JsonValue } from "../json.js";
import type { LogRecord } from "../record.js";
import { compiled, type CompiledPlan, type UnitFacts } from "./compiled-plan.js";
import { NEW, STABLE, type EvalContext, type Reason, type Resolution, type Rollout, type RolloutPlan } from "./plan.js";
import { percentAt, planTime, ringIndexAt } from "./schedule.js";

const ROLLED_BACK_KINDS = new Set(["rollback", "rollout_aborted", "auto_rollback"]);

/**
 * What `ctx` is served from `record` at `now`: a pure function, so GetAt at a
 * past time answers exactly what was served then, and SDKs evaluating locally
 * agree with the daemon. Pass `trace` to collect the decision in words.
 */
export function evaluate(record: LogRecord, ctx: EvalContext, now: number, trace?: string[]): Resolution {
  const ro = record.rollout;
  if (ro === undefined) {
    const reason: Reason = ROLLED_BACK_KINDS.has(record.kind) ? "rolled_back" : "static";
    trace?.push(`no rollout: the value of version ${record.version} is served to everyone (${reason})`);
    return { value: record.value, variant: "", reason };
  }
  const { plan, state } = ro;
  if (state.killed) {
    trace?.push("kill switch is on: everyone gets the stable value");
    return stableOf(plan, "rolled_back");
  }
  const t = planTime(state, now);
  if (plan.activateAt !== undefined && t < plan.activateAt) {
    trace?.push(`scheduled: activates at ${new Date(plan.activateAt - state.shiftMs).toISOString()}`);
    return stableOf(plan, "scheduled_not_yet");
  }
  const c = compiled(ro);
  const unit = ctx.unitId;
  const pin = c.pinned.size === 0 ? undefined : c.pinned.get(unit);
  if (pin !== undefined) {
    trace?.push(`unit "${unit}" is pinned to ${pin}`);
    if (pin === STABLE) return stableOf(plan, "pinned");
    if (pin === NEW) return { value: record.value, variant: NEW, reason: "pinned" };
    const v = plan.variants.find((x) => x.name === pin);
    return v ? { value: v.value, variant: v.name, reason: "pinned" } : stableOf(plan, "pinned");
  }
  // Unit-id rules, the bucket and the variant depend on the unit alone: they come from its facts.
  const facts = c.facts(unit);
  if (c.earlyAdopters.size > 0 && c.earlyAdopters.has(unit)) {
    trace?.push(`unit "${unit}" is an early adopter`);
    return serveNew(record, ro, c, facts, unit, "early_adopter", trace);
  }
  for (let i = 0; i < c.rules.length; i++) {
    const { rule, test, byUnit } = c.rules[i]!;
    if (byUnit ? facts.unitRule === i : test(unit, ctx.attributes)) {
      trace?.push(`rule matched: ${JSON.stringify(rule)}`);
      return serveNew(record, ro, c, facts, unit, "rule_match", trace);
    }
  }
  if (c.rules.length > 0) trace?.push(`no rule matched (${c.rules.length} rules)`);
  if (plan.rings) {
    const current = ringIndexAt(plan, state, t);
    const mine = plan.rings.order.indexOf(ctx.environment);
    if (mine < 0 || mine > current) {
      trace?.push(
        mine < 0
          ? `environment "${ctx.environment}" is not one of the rings ${plan.rings.order.join(" -> ")}`
          : `environment "${ctx.environment}" is ring ${mine + 1}; the rollout is at ring ${current + 1} (${plan.rings.order[current]})`,
      );
      return stableOf(plan, "ring_not_reached");
    }
    trace?.push(`environment "${ctx.environment}" is within the current ring ${plan.rings.order[current]}`);
  }
  const pct = percentAt(plan.percentage, state.startedAt, t);
  if (plan.interpolate && typeof plan.stable === "number" && typeof record.value === "number") {
    const value = interpolate(plan.stable, record.value, pct);
    trace?.push(`interpolated at ${pct}%: ${value}`);
    return { value, variant: NEW, reason: "in_rollout" };
  }
  const b = facts.bucket;
  if (!inPercentage(b, pct)) {
    trace?.push(`bucket ${b} is outside ${pct}% (threshold ${Math.round(pct * 1000)})`);
    return stableOf(plan, "out_of_rollout");
  }
  trace?.push(`bucket ${b} is inside ${pct}% (threshold ${Math.round(pct * 1000)})`);
  return serveNew(record, ro, c, facts, unit, "in_rollout", trace);
}

const stableOf = (plan: RolloutPlan, reason: Reason): Resolution => ({ value: plan.stable, variant: STABLE, reason });

function serveNew(record: LogRecord, ro: Rollout, c: CompiledPlan, facts: UnitFacts, unit: string, reason: Reason, trace?: string[]): Resolution {
  const variants = ro.plan.variants;
  if (variants.length === 0) return { value: record.value, variant: NEW, reason };
  const i = c.variantOf(unit, facts);
  const v = i < 0 ? undefined : variants[i]!;
  if (v === undefined) return { value: record.value, variant: NEW, reason };
  trace?.push(`variant "${v.name}" by weight`);
  return { value: v.value, variant: v.name, reason: reason === "in_rollout" ? "variant" : reason };
}

/** Integers stay integers: config such as pool sizes moves in whole steps. */
function interpolate(from: number, to: number, pct: number): JsonValue {
  const x = from + ((to - from) * pct) / 100;
  return Number.isInteger(from) && Number.isInteger(to) ? Math.round(x) : x;
}
