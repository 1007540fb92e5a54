import semver from "semver";
import { GetRequest, SetRequest } from "../src/gen/ctm/v1/config_service.js";
import { AttributeOperator, type RolloutPlan as PbPlan } from "../src/gen/ctm/v1/rollout.js";
import type { RolloutInput } from "../src/domain/rollout/build-rollout.js";

/**
 * The rolling key of the evaluation benches: 5 rules (2 unit-id regexes, then attribute
 * rules equals / in / semver_gte) that most units do not match, so evaluation runs through
 * all of them down to bucketing at 50%, and 3 weighted variants for whoever gets the new value.
 * The same plan is stated for ctm (domain and wire), flagd-core and unleash-client.
 */
export const rollout = {
  key: "bench/flags/rolling",
  stable: { layout: "classic" },
  value: { layout: "new" },
  regexes: ["^qa-", "-canary$"],
  countries: ["NZ", "AU"],
  plan: "enterprise",
  minAppVersion: "9.0.0",
  percent: 50,
  variants: [
    { name: "a", weight: 50, value: { layout: "a" } },
    { name: "b", weight: 30, value: { layout: "b" } },
    { name: "c", weight: 20, value: { layout: "c" } },
  ],
  /**
   * The unit of every h2load Get with a context: no rule matches it, and it is inside the 50%
   * (bucket 10971 of 100000) with variant "a" (variant bucket 25520): the longest path, two hashes.
   */
  getUnitId: "user-4243",
  /** Distinct units the in-process benches cycle through. */
  units: 10_000,

  /** ctm's plan as buildRollout takes it: steps from 50% (+10 a day), so it sits at 50% for the run. */
  input(): RolloutInput {
    return {
      stable: rollout.stable,
      rules: [
        { unitIdRegex: rollout.regexes[0]! },
        { unitIdRegex: rollout.regexes[1]! },
        { attribute: "country", op: "in", values: rollout.countries },
        { attribute: "plan", op: "equals", values: [rollout.plan] },
        { attribute: "app_version", op: "semver_gte", values: [rollout.minAppVersion] },
      ],
      percentage: { kind: "steps", start: rollout.percent, increment: 10, intervalMs: 86_400_000, target: 100 },
      variants: rollout.variants,
    };
  },

  /** The same plan on the wire, for SetRequest.rollout. */
  pbPlan(): PbPlan {
    const attribute = (attribute: string, operator: AttributeOperator, values: string[]) => ({
      rule: { $case: "attribute" as const, value: { attribute, operator, values } },
    });
    return {
      stable: rollout.stable,
      salt: "",
      earlyAdopters: [],
      pinned: [],
      rules: [
        { rule: { $case: "unitIdRegex", value: rollout.regexes[0]! } },
        { rule: { $case: "unitIdRegex", value: rollout.regexes[1]! } },
        attribute("country", AttributeOperator.ATTRIBUTE_OPERATOR_IN, rollout.countries),
        attribute("plan", AttributeOperator.ATTRIBUTE_OPERATOR_EQUALS, [rollout.plan]),
        attribute("app_version", AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GTE, [rollout.minAppVersion]),
      ],
      percentage: { $case: "steps", value: { start: rollout.percent, increment: 10, interval: { seconds: 86_400, nanos: 0 }, target: 100 } },
      variants: rollout.variants,
      interpolate: false,
      allowPastStart: false,
    };
  },

  seedRequest(): Uint8Array {
    return SetRequest.encode({ key: rollout.key, value: rollout.value, author: "bench", message: "rolling seed", rollout: rollout.pbPlan() }).finish();
  },

  /** What every h2load Get-with-context sends: one unit (h2load repeats one body), no rule matches. */
  getRequest(): Uint8Array {
    return GetRequest.encode({
      key: rollout.key,
      context: {
        unitId: rollout.getUnitId,
        environment: "prod",
        attributes: { country: "DE", plan: "pro", app_version: "2.3.1" },
        requestId: "bench-0123456789abcdef",
      },
      consistent: false,
    }).finish();
  },
};

/** One unit's context, library-neutral. */
export interface UnitContext {
  unitId: string;
  environment: string;
  country: string;
  plan: string;
  appVersion: string;
}

const COUNTRIES = ["DE", "US", "FR", "JP", "BR"];

/**
 * `rollout.units` distinct units. About 2% match a rule (each rule matches a few), the
 * rest are bucketed: unit ids "qa-…" (every 250th), "…-canary" (every 333rd), country NZ
 * (i % 100 = 7), plan enterprise (i % 500 = 3), app_version 9.1.0 (i % 400 = 5).
 */
export function unitContexts(): UnitContext[] {
  return Array.from({ length: rollout.units }, (_, i) => ({
    unitId: i % 250 === 0 ? `qa-${i}` : i % 333 === 1 ? `user-${i}-canary` : `user-${i}`,
    environment: "prod",
    country: i % 100 === 7 ? "NZ" : COUNTRIES[i % COUNTRIES.length]!,
    plan: i % 500 === 3 ? "enterprise" : i % 2 === 0 ? "free" : "pro",
    appVersion: i % 400 === 5 ? "9.1.0" : `${1 + (i % 3)}.${i % 10}.${i % 7}`,
  }));
}

/** Whether any of the 5 rules matches, computed here without any of the libraries under test. */
export function matchesRule(u: UnitContext): boolean {
  return (
    u.unitId.startsWith("qa-") ||
    u.unitId.endsWith("-canary") ||
    rollout.countries.includes(u.country) ||
    u.plan === rollout.plan ||
    semver.gte(u.appVersion, rollout.minAppVersion)
  );
}
