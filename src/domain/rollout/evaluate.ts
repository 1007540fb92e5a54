import { bucket, inPercentage, pickVariant } from "../bucketing.js";
import type { JsonValue } from "../json.js";
import type { LogRecord } from "../record.js";
import { compiled } from "./compiled-plan.js";
import { NEW, STABLE, type EvalContext, type Reason, type Resolution, type Rollout } from "./plan.js";
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
  const stable = (reason: Reason): Resolution => ({ value: plan.stable, variant: STABLE, reason });
  if (state.killed) {
    trace?.push("kill switch is on: everyone gets the stable value");
    return stable("rolled_back");
  }
  const t = planTime(state, now);
  if (plan.activateAt !== undefined && t < plan.activateAt) {
    trace?.push(`scheduled: activates at ${new Date(plan.activateAt - state.shiftMs).toISOString()}`);
    return stable("scheduled_not_yet");
  }
  const c = compiled(ro);
  const unit = ctx.unitId;
  const pin = c.pinned.get(unit);
  if (pin !== undefined) {
    trace?.push(`unit "${unit}" is pinned to ${pin}`);
    if (pin === STABLE) return stable("pinned");
    if (pin === NEW) return { value: record.value, variant: NEW, reason: "pinned" };
    const v = plan.variants.find((x) => x.name === pin);
    return v ? { value: v.value, variant: v.name, reason: "pinned" } : stable("pinned");
  }
  if (c.earlyAdopters.has(unit)) {
    trace?.push(`unit "${unit}" is an early adopter`);
    return serveNew(record, ro, unit, "early_adopter", trace);
  }
  for (const { rule, test } of c.rules) {
    if (test(unit, ctx.attributes)) {
      trace?.push(`rule matched: ${JSON.stringify(rule)}`);
      return serveNew(record, ro, unit, "rule_match", trace);
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
      return stable("ring_not_reached");
    }
    trace?.push(`environment "${ctx.environment}" is within the current ring ${plan.rings.order[current]}`);
  }
  const pct = percentAt(plan.percentage, state.startedAt, t);
  if (plan.interpolate && typeof plan.stable === "number" && typeof record.value === "number") {
    const value = interpolate(plan.stable, record.value, pct);
    trace?.push(`interpolated at ${pct}%: ${value}`);
    return { value, variant: NEW, reason: "in_rollout" };
  }
  const b = bucket(plan.salt, unit);
  if (!inPercentage(b, pct)) {
    trace?.push(`bucket ${b} is outside ${pct}% (threshold ${Math.round(pct * 1000)})`);
    return stable("out_of_rollout");
  }
  trace?.push(`bucket ${b} is inside ${pct}% (threshold ${Math.round(pct * 1000)})`);
  return serveNew(record, ro, unit, "in_rollout", trace);
}

function serveNew(record: LogRecord, ro: Rollout, unit: string, reason: Reason, trace?: string[]): Resolution {
  const variants = ro.plan.variants;
  if (variants.length === 0) return { value: record.value, variant: NEW, reason };
  const v = pickVariant(ro.plan.salt, unit, variants);
  if (v === undefined) return { value: record.value, variant: NEW, reason };
  trace?.push(`variant "${v.name}" by weight`);
  return { value: v.value, variant: v.name, reason: reason === "in_rollout" ? "variant" : reason };
}

/** Integers stay integers: config such as pool sizes moves in whole steps. */
function interpolate(from: number, to: number, pct: number): JsonValue {
  const x = from + ((to - from) * pct) / 100;
  return Number.isInteger(from) && Number.isInteger(to) ? Math.round(x) : x;
}
