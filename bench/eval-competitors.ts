// The same rolling key as bench/rollout-fixture.ts, stated for the two in-process evaluators
// ctm is compared with. Each is set up through its public API, as an application would, and
// evaluated without a network.
import { FlagdCore } from "@openfeature/flagd-core";
import { InMemStorageProvider, Unleash, type ClientFeaturesResponse, type Context } from "unleash-client";
import { rollout, type UnitContext } from "./rollout-fixture.js";

export const FLAGD_KEY = "bench-rolling";
export const FLAGD_KEY_ONE_FRACTIONAL = "bench-rolling-one-fractional";
export const UNLEASH_KEY = "bench-rolling";

const variantValues = Object.fromEntries([["stable", rollout.stable], ...rollout.variants.map((v) => [v.name, v.value])]);
const variantWeights = rollout.variants.map((v) => [v.name, v.weight]);

/**
 * flagd's targeting is JSON Logic. flagd has no regex operator, so the two unit-id regexes
 * (`^qa-`, `-canary$`) become starts_with / ends_with on targetingKey (the same sets of units;
 * native string calls are cheaper than ctm's RE2 matches). The attribute rules are `in`, `==`
 * and sem_ver ">=", joined by `or` as ctm's rules are.
 */
const rules = {
  or: [
    { starts_with: [{ var: "targetingKey" }, "qa-"] },
    { ends_with: [{ var: "targetingKey" }, "-canary"] },
    { in: [{ var: "country" }, rollout.countries] },
    { "==": [{ var: "plan" }, rollout.plan] },
    { sem_ver: [{ var: "app_version" }, ">=", rollout.minAppVersion] },
  ],
};

/**
 * Two flagd flags:
 * - FLAGD_KEY does what ctm does: a unit is in the 50% by one hash (fractional over the flag
 *   key + targetingKey), and its variant comes from a second, independent hash (fractional
 *   seeded with "variant" + targetingKey), so variants stay put while the percentage moves.
 * - FLAGD_KEY_ONE_FRACTIONAL is the shortest flagd form: one fractional over stable 50 and the
 *   variants' shares of the other 50 (one hash per unit, but variants reshuffle when the
 *   percentage changes). Measured too, so the comparison is against flagd's fastest form.
 */
export function flagdConfig(): string {
  const variantPick = { fractional: [{ cat: ["variant", { var: "targetingKey" }] }, ...variantWeights] };
  const flag = (targeting: unknown) => ({ state: "ENABLED", variants: variantValues, defaultVariant: "stable", targeting });
  const total = rollout.variants.reduce((s, v) => s + v.weight, 0);
  return JSON.stringify({
    flags: {
      [FLAGD_KEY]: flag({
        if: [rules, variantPick, { "==": [{ fractional: [["in", rollout.percent], ["out", 100 - rollout.percent]] }, "in"] }, variantPick, "stable"],
      }),
      [FLAGD_KEY_ONE_FRACTIONAL]: flag({
        if: [
          rules,
          variantPick,
          {
            fractional: [
              ["stable", (100 - rollout.percent) * total],
              ...rollout.variants.map((v) => [v.name, rollout.percent * v.weight]),
            ],
          },
        ],
      }),
    },
  });
}

export function newFlagd(): FlagdCore {
  const core = new FlagdCore();
  const loaded = core.setConfigurations(flagdConfig());
  if (!core.getFlag(FLAGD_KEY) || !core.getFlag(FLAGD_KEY_ONE_FRACTIONAL)) throw new Error(`flagd-core did not load the bench flags (loaded: ${loaded.join(", ")})`);
  return core;
}

/** targetingKey, environment, country, plan, app_version. */
export type FlagdContext = Record<string, string>;

export const flagdContext = (u: UnitContext): FlagdContext => ({
  targetingKey: u.unitId,
  environment: u.environment,
  country: u.country,
  plan: u.plan,
  app_version: u.appVersion,
});

/**
 * Unleash constraints within one strategy are ANDed, and a feature is on if any strategy is.
 * So ctm's "any of 5 rules, else 50%" is 6 strategies in order: 5 `default` strategies (always
 * on once their constraint holds) with one constraint each, then `flexibleRollout` at 50% with
 * stickiness on userId. The regex rules use Unleash's REGEX operator, which runs the same RE2
 * engine (re2js) as ctm, with compiled patterns cached. The variants are feature variants
 * (weights out of 1000, stickiness userId): a second hash, independent of the rollout's.
 */
export function unleashFeature(): ClientFeaturesResponse["features"][number] {
  const constraint = (contextName: string, operator: string, values: string[], value?: string) => ({
    contextName,
    operator,
    values,
    ...(value === undefined ? {} : { value }),
    inverted: false,
    caseInsensitive: false,
  });
  const ruleStrategy = (c: ReturnType<typeof constraint>) => ({ name: "default", parameters: {}, constraints: [c] });
  const total = rollout.variants.reduce((s, v) => s + v.weight, 0);
  const feature = {
    name: UNLEASH_KEY,
    type: "release",
    enabled: true,
    stale: false,
    impressionData: false,
    project: "default",
    strategies: [
      ruleStrategy(constraint("userId", "REGEX", [], rollout.regexes[0])),
      ruleStrategy(constraint("userId", "REGEX", [], rollout.regexes[1])),
      ruleStrategy(constraint("country", "IN", rollout.countries)),
      ruleStrategy(constraint("plan", "IN", [rollout.plan])),
      ruleStrategy(constraint("app_version", "SEMVER_GTE", [], rollout.minAppVersion)),
      {
        name: "flexibleRollout",
        parameters: { rollout: String(rollout.percent), stickiness: "userId", groupId: UNLEASH_KEY },
        constraints: [],
      },
    ],
    variants: rollout.variants.map((v) => ({
      name: v.name,
      weight: (v.weight * 1000) / total,
      weightType: "variable",
      stickiness: "userId",
      payload: { type: "json", value: JSON.stringify(v.value) },
      overrides: [],
    })),
  };
  // The bootstrap takes the API's JSON; its typings want the SDK's own enum for `operator`.
  return feature as unknown as ClientFeaturesResponse["features"][number];
}

/** An Unleash SDK that never talks to a server: bootstrapped from memory, no polling, no metrics. */
export async function newUnleash(): Promise<Unleash> {
  const unleash = new Unleash({
    appName: "ctm-bench",
    environment: "prod",
    // Required by the constructor; never contacted (refreshInterval 0 disables fetching).
    url: "http://127.0.0.1:9/unused/",
    refreshInterval: 0,
    disableMetrics: true,
    disableAutoStart: true,
    skipInstanceCountWarning: true,
    bootstrap: { data: [unleashFeature()] },
    storageProvider: new InMemStorageProvider(),
  });
  const ready = new Promise<void>((resolve, reject) => {
    unleash.once("ready", () => resolve());
    unleash.once("error", reject);
    setTimeout(() => reject(new Error("unleash-client did not become ready from its bootstrap within 10 s")), 10_000).unref();
  });
  await unleash.start();
  await ready;
  return unleash;
}

export const unleashContext = (u: UnitContext): Context => ({
  userId: u.unitId,
  properties: { country: u.country, plan: u.plan, app_version: u.appVersion },
});
