import { invalidArgument } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { checkGlob } from "../validation/key-glob.js";
import { NAME_PATTERN, RESERVED_PREFIX } from "../validation/validator.js";
import { checkHealthCheckDocument } from "./health-check-document.js";
import { HEALTH_DEFAULTS, type HealthCheck } from "./health-check.js";

/** Checks a health check definition; problems are INVALID_ARGUMENT naming the field. */
export function checkHealthCheck(c: HealthCheck, field = "check"): HealthCheck {
  if (!NAME_PATTERN.test(c.name)) throw invalidArgument(`${field}.name`, "must be 1-128 letters, digits, . _ or -, starting with a letter or digit");
  if (c.keys.length === 0) throw invalidArgument(`${field}.keys`, "must hold at least one key pattern");
  if (c.keys.length > 100) throw invalidArgument(`${field}.keys`, "must hold at most 100 key patterns");
  c.keys.forEach((k, i) => {
    checkGlob(k, `${field}.keys[${i}]`);
    if (k.startsWith(RESERVED_PREFIX)) throw invalidArgument(`${field}.keys[${i}]`, `must be a key glob outside ${RESERVED_PREFIX}`);
  });
  const s = c.source;
  if (s.kind !== "pushed" && s.kind !== "http" && s.kind !== "prometheus") throw invalidArgument(`${field}.source`, "must be pushed, http or prometheus");
  if (c.action !== "rollback" && c.action !== "pause") throw invalidArgument(`${field}.action`, "must be rollback or pause");
  if (s.kind === "http" || s.kind === "prometheus") {
    let url: URL;
    try {
      url = new URL(s.url);
    } catch {
      throw invalidArgument(`${field}.${s.kind}.url`, `"${s.url}" is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw invalidArgument(`${field}.${s.kind}.url`, "must be http or https");
  }
  if (s.kind === "prometheus" && s.query.trim() === "") throw invalidArgument(`${field}.prometheus.query`, "is required");
  if (s.kind === "http" && !(s.expectStatus >= 100 && s.expectStatus <= 599)) throw invalidArgument(`${field}.http.expect_status`, "must be an HTTP status");
  if (!(c.maxErrorRate >= 0 && c.maxErrorRate <= 1)) throw invalidArgument(`${field}.max_error_rate`, "must be a rate from 0 to 1");
  if (!(c.maxIncrease >= 0 && c.maxIncrease <= 1)) throw invalidArgument(`${field}.max_increase`, "must be a rate from 0 to 1");
  if (!(c.windowMs >= 1000)) throw invalidArgument(`${field}.window`, "must be at least 1s");
  if (!(c.minSamples >= 1)) throw invalidArgument(`${field}.min_samples`, "must be at least 1");
  if (!(c.failuresToAct >= 1)) throw invalidArgument(`${field}.failures_to_act`, "must be at least 1");
  if (!(c.bakeMs >= 0)) throw invalidArgument(`${field}.bake_time`, "must not be negative");
  return c;
}

/** Fills defaults for fields a client left at zero. */
export function withDefaults(c: HealthCheck): HealthCheck {
  return {
    ...c,
    windowMs: c.windowMs || HEALTH_DEFAULTS.windowMs,
    minSamples: c.minSamples || HEALTH_DEFAULTS.minSamples,
    failuresToAct: c.failuresToAct || HEALTH_DEFAULTS.failuresToAct,
    source: c.source.kind === "http" ? { ...c.source, expectStatus: c.source.expectStatus || HEALTH_DEFAULTS.expectStatus } : c.source,
  };
}

/**
 * A health check as stored under `_ctm/health/<name>` (plain JSON): checked
 * against the document schema first (names the bad member under `field`),
 * then as SetHealthCheck checks a definition. Members left out take the
 * RPC's defaults.
 */
export function healthCheckFromJson(name: string, j: JsonValue | undefined, field = "value"): HealthCheck {
  checkHealthCheckDocument(j ?? null, field);
  const o = j as unknown as Partial<Omit<HealthCheck, "name">> & { keys: string[]; maxErrorRate: number };
  const source = o.source ?? { kind: "pushed" };
  return checkHealthCheck(
    withDefaults({
      name,
      keys: o.keys,
      source: source.kind === "http" ? { ...source, expectStatus: source.expectStatus ?? 0 } : source,
      maxErrorRate: o.maxErrorRate,
      maxIncrease: o.maxIncrease ?? 0,
      windowMs: o.windowMs ?? 0,
      minSamples: o.minSamples ?? 0,
      failuresToAct: o.failuresToAct ?? 0,
      action: o.action ?? "rollback",
      bakeMs: o.bakeMs ?? 0,
    }),
    field,
  );
}

export function healthCheckToJson(c: HealthCheck): JsonValue {
  const { name: _name, ...rest } = c;
  return JSON.parse(JSON.stringify(rest)) as JsonValue;
}
