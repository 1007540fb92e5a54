/** The OpenFeature provider: resolution from the local cache, with ctm's variant, reason and version. */
import { describe, expect, it } from "vitest";
import { AttributeOperator, fromPbReason, type CtmClient } from "../../clients/ts/src/index.js";
import { CtmProvider, ErrorCode, OpenFeature, ProviderEvents, StandardResolutionReasons as R } from "../../clients/ts/src/openfeature.js";
import { client, defer, startDaemon, until } from "./helpers.js";

const HOUR = { seconds: 3600, nanos: 0 };

async function setup() {
  const daemon = await startDaemon();
  const c = client(daemon.address, { cache: { prefix: "of/" } });
  await c.set("of/static", true, { author: "ana" });
  await c.set("of/canary", true, {
    rollout: {
      stable: false,
      earlyAdopters: ["alice"],
      rules: [{ rule: { $case: "attribute", value: { attribute: "country", operator: AttributeOperator.ATTRIBUTE_OPERATOR_EQUALS, values: ["NZ"] } } }],
      rings: { order: ["dev", "prod"] },
      percentage: { $case: "steps", value: { start: 40, increment: 10, interval: HOUR, target: 100 } },
    },
  });
  await c.set("of/layout", "grid", { rollout: { stable: "list", variants: [{ name: "grid", weight: 1, value: "grid" }, { name: "cards", weight: 1, value: "cards" }] } });
  await c.set("of/later", "new", { rollout: { stable: "old", activateAt: new Date(Date.now() + 86_400_000) } });
  await c.set("of/pool", 20);
  const last = await c.set("of/limits", { rps: 100, burst: [1, 2] });
  await c.ready();
  await until(() => c.cache!.revision >= last.entry!.revision, "the cache has every flag");
  const provider = new CtmProvider(c);
  const domain = `ctm-${daemon.address}`;
  await OpenFeature.setProviderAndWait(domain, provider);
  defer(() => OpenFeature.clearProviders());
  return { daemon, c, provider, of: OpenFeature.getClient(domain) };
}

const expectMeta = async (c: CtmClient, key: string, meta: Record<string, unknown> | undefined, ctmReason: string) => {
  const e = (await c.get(key)).entry!;
  expect(meta).toEqual({ ctmReason, version: e.version, revision: e.revision });
};

describe("CtmProvider (OpenFeature)", () => {
  it("maps ctm reasons to OpenFeature reasons and carries variant, ctmReason, version and revision", async () => {
    const { c, of } = await setup();

    const stat = await of.getBooleanDetails("of/static", false, { targetingKey: "bob" });
    expect(stat).toMatchObject({ value: true, reason: R.STATIC });
    expect(stat.variant).toBeUndefined(); // a static value has no variant
    await expectMeta(c, "of/static", stat.flagMetadata, "static");

    const early = await of.getBooleanDetails("of/canary", false, { targetingKey: "alice", environment: "prod" });
    expect(early).toMatchObject({ value: true, reason: R.TARGETING_MATCH, variant: "new" });
    await expectMeta(c, "of/canary", early.flagMetadata, "early_adopter");

    const rule = await of.getBooleanDetails("of/canary", false, { targetingKey: "kiwi", environment: "prod", country: "NZ" });
    expect(rule).toMatchObject({ value: true, reason: R.TARGETING_MATCH, flagMetadata: { ctmReason: "rule_match" } });

    const ring = await of.getBooleanDetails("of/canary", true, { targetingKey: "user-1", environment: "prod" });
    expect(ring).toMatchObject({ value: false, reason: R.DEFAULT, variant: "stable", flagMetadata: { ctmReason: "ring_not_reached" } });

    // The percentage split: SPLIT in and out, and exactly the daemon's answer for every unit.
    const splits = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const ctx = { unitId: `user-${i}`, environment: "dev" };
      const d = await of.getBooleanDetails("of/canary", false, { targetingKey: ctx.unitId, environment: "dev" });
      const daemonSays = await c.get("of/canary", { context: ctx });
      expect([d.value, d.variant, d.flagMetadata.ctmReason]).toEqual([daemonSays.value, daemonSays.variant, fromPbReason(daemonSays.reason)]);
      expect(d.reason).toBe(R.SPLIT);
      splits.add(String(d.flagMetadata.ctmReason));
    }
    expect([...splits].sort()).toEqual(["in_rollout", "out_of_rollout"]);

    const v = await of.getStringDetails("of/layout", "none", { targetingKey: "user-7" });
    expect(v.reason).toBe(R.SPLIT);
    expect(["grid", "cards"]).toContain(v.variant);
    expect(v.value).toBe(v.variant);
    expect(v.flagMetadata.ctmReason).toBe("variant");

    expect(await of.getStringDetails("of/later", "x", { targetingKey: "u" })).toMatchObject({ value: "old", reason: R.DEFAULT, flagMetadata: { ctmReason: "scheduled_not_yet" } });

    await c.rollouts.kill("of/canary");
    await until(() => c.cache!.get("of/canary")?.reason === "rolled_back", "the kill reaches the cache");
    const killed = await of.getBooleanDetails("of/canary", true, { targetingKey: "alice", environment: "prod" });
    expect(killed).toMatchObject({ value: false, reason: R.DISABLED, variant: "stable" });
    await expectMeta(c, "of/canary", killed.flagMetadata, "rolled_back");

    await c.rollouts.abort("of/canary"); // static again, stable value: rolled back, but no longer a live decision
    await until(() => c.cache!.entry("of/canary")?.rollout === undefined, "the abort reaches the cache");
    expect(await of.getBooleanDetails("of/canary", true, { targetingKey: "alice" })).toMatchObject({ value: false, reason: R.STATIC, flagMetadata: { ctmReason: "rolled_back" } });
  });

  it("resolves numbers and objects, and reports missing flags and type mismatches with the default value", async () => {
    const { of } = await setup();
    expect(await of.getNumberDetails("of/pool", 1)).toMatchObject({ value: 20, reason: R.STATIC });
    expect(await of.getObjectDetails("of/limits", {})).toMatchObject({ value: { rps: 100, burst: [1, 2] }, reason: R.STATIC });
    expect(await of.getBooleanDetails("of/missing", true)).toMatchObject({ value: true, reason: R.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(await of.getNumberDetails("of/static", 7)).toMatchObject({ value: 7, reason: R.ERROR, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await of.getBooleanDetails("of/pool", false)).toMatchObject({ value: false, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await of.getObjectDetails("of/pool", { d: 1 })).toMatchObject({ value: { d: 1 }, errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it("emits ConfigurationChanged for changed flags, and goes STALE while the daemon is down, READY when it is back", async () => {
    const { daemon, c, of } = await setup();
    const changed: string[][] = [];
    of.addHandler(ProviderEvents.ConfigurationChanged, (d) => changed.push(d?.flagsChanged ?? []));
    await c.set("of/pool", 25);
    await until(() => changed.some((f) => f.includes("of/pool")), "ConfigurationChanged for of/pool");
    expect(await of.getNumberValue("of/pool", 1)).toBe(25);

    await until(() => c.cache!.connected, "the cache watches");
    await daemon.kill();
    await until(() => of.providerStatus === "STALE", "the provider is stale");
    expect(await of.getNumberValue("of/pool", 1)).toBe(25); // still the last known value
    await daemon.launch();
    await until(() => of.providerStatus === "READY", "the provider is ready again");
  });
});
