/** The local cache: seeded by Snapshot, fresh by Watch, evaluated locally, alive without the daemon, bootstrapped from a file. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromPbReason, grpc, readSnapshotFile, type Context, type CtmClient, type RolloutPlan } from "../../clients/ts/src/index.js";
import type { DeepPartial } from "../../clients/ts/src/gen/ctm/v1/rollout.js";
import { AttributeOperator } from "../../clients/ts/src/index.js";
import { Daemon } from "../helpers/daemon.js";
import { client, defer, freePort, startDaemon, until } from "./helpers.js";

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "ctm-sdk-"));
  defer(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A plan that exercises every evaluation step: pins, early adopters, both rule kinds, rings, a percentage and variants. */
const RICH_PLAN: DeepPartial<RolloutPlan> = {
  stable: "list",
  earlyAdopters: ["alice"],
  pinned: [{ unitId: "ceo", serve: "stable" }, { unitId: "cto", serve: "cards" }],
  rules: [
    { rule: { $case: "unitIdRegex", value: "^staff-[0-9]+$" } },
    { rule: { $case: "attribute", value: { attribute: "app_version", operator: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GTE, values: ["3.0.0"] } } },
  ],
  rings: { order: ["dev", "staging", "prod"] },
  percentage: { $case: "steps", value: { start: 30, increment: 10, interval: { seconds: 3600, nanos: 0 }, target: 100 } },
  variants: [
    { name: "grid", weight: 2, value: "grid" },
    { name: "cards", weight: 1, value: "cards" },
  ],
};

/** 300 contexts over units, environments (incl. one outside the rings) and attributes. */
const CONTEXTS: Context[] = Array.from({ length: 300 }, (_, i) => ({
  unitId: ["alice", "ceo", "cto", "staff-7"][i] ?? `user-${i}`,
  environment: ["dev", "staging", "prod", "qa"][i % 4]!,
  attributes: i % 5 === 0 ? { app_version: "3.1.0" } : ({} as Record<string, string>),
}));

async function seed(c: CtmClient) {
  await c.set("flags/on", true);
  await c.set("flags/layout", "list");
  await c.set("flags/layout", "grid", { rollout: RICH_PLAN });
  await c.set("other/x", 1);
}

describe("CtmCache", () => {
  it("is seeded by Snapshot, follows Watch, and answers get/isOn/guard locally without any RPC", async () => {
    const daemon = await startDaemon();
    const writer = client(daemon.address);
    await seed(writer);
    const rpcs: string[] = [];
    const c = client(daemon.address, {
      cache: { prefix: "flags/" },
      interceptors: [(options, next) => (rpcs.push(options.method_definition.path), new grpc.InterceptingCall(next(options)))],
    });
    await c.ready();
    expect(c.cache!.source).toBe("daemon");
    expect(c.cache!.keys()).toEqual(["flags/layout", "flags/on"]);
    expect(c.cache!.get("other/x")).toBeUndefined();
    expect(rpcs).toEqual(["/ctm.v1.ConfigService/Snapshot", "/ctm.v1.ConfigService/Watch"]);

    let on = 0;
    for (const ctx of CONTEXTS) {
      c.cache!.get("flags/layout", ctx);
      if (c.isOn("flags/on", ctx)) on++;
      c.guard("flags/on", ctx, () => undefined);
    }
    expect(on).toBe(CONTEXTS.length);
    expect(rpcs).toHaveLength(2); // 900 local reads, no RPC

    // Changes arrive through the watch.
    const changed = c.waitForChange("flags/on", 20_000);
    const w = await writer.set("flags/on", false);
    expect(await changed).toMatchObject({ key: "flags/on", value: false, revision: w.entry!.revision });
    expect(c.isOn("flags/on", { unitId: "u" })).toBe(false);
    expect(c.cache!.revision).toBe(w.entry!.revision);

    const gone = c.waitForChange("flags/on", 20_000);
    await writer.delete("flags/on");
    expect((await gone)!.deleted).toBe(true);
    expect(c.cache!.get("flags/on")).toBeUndefined();
    expect(c.isOn("flags/on")).toBe(false);

    // Keys outside the prefix never enter; order is kept, so once flags/z is in, other/y was seen and skipped.
    await writer.set("other/y", true);
    const z = c.waitForChange("flags/z", 20_000);
    await writer.set("flags/z", 1);
    await z;
    expect(c.cache!.keys()).toEqual(["flags/layout", "flags/z"]);
    expect(rpcs).toHaveLength(2);
  });

  it("with keys, follows exactly those keys (one watch on their common prefix)", async () => {
    const daemon = await startDaemon();
    const writer = client(daemon.address);
    await writer.set("svc/a", 1);
    await writer.set("svc/b", 2);
    await writer.set("svc/c", 3);
    const c = client(daemon.address, { cache: { keys: ["svc/a", "svc/b"] } });
    await c.ready();
    expect(c.cache!.prefix).toBe("svc/");
    expect(c.cache!.keys()).toEqual(["svc/a", "svc/b"]);
    expect(c.cache!.covers("svc/c")).toBe(false);
    const b = c.waitForChange("svc/b", 20_000);
    await writer.set("svc/c", 30);
    await writer.set("svc/b", 20);
    expect((await b)!.value).toBe(20);
    expect(c.cache!.value("svc/b")).toBe(20);
    expect(c.cache!.entry("svc/c")).toBeUndefined();
  });

  it("local evaluation equals the daemon's Get for every unit, and Explain at a fixed time for a ramp", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address, { cache: { prefix: "" } });
    await seed(c);
    const ramp = await c.set("ramp", 50, { rollout: { stable: 10, interpolate: false, percentage: { $case: "ramp", value: { from: 0, to: 100, duration: { seconds: 7200, nanos: 0 } } } } });
    await until(() => c.cache!.revision >= ramp.entry!.revision, "the cache has the ramp");

    const reasons = new Set<string>();
    for (const ctx of CONTEXTS) {
      const daemonSays = await c.get("flags/layout", { context: ctx });
      const local = c.cache!.get("flags/layout", ctx)!;
      expect([local.value, local.variant, local.reason], JSON.stringify(ctx)).toEqual([daemonSays.value, daemonSays.variant, fromPbReason(daemonSays.reason)]);
      reasons.add(local.reason);
    }
    // The contexts cover every path of the plan.
    expect([...reasons].sort()).toEqual(["early_adopter", "out_of_rollout", "pinned", "ring_not_reached", "rule_match", "variant"]);

    const at = ramp.entry!.time!.getTime() + 43 * 60_000; // 43 minutes into a 2-hour ramp
    for (const ctx of CONTEXTS.slice(0, 100)) {
      const ex = await c.rollouts.explain("ramp", ctx, { time: at });
      const local = c.cache!.get("ramp", ctx, at)!;
      expect([local.value, local.variant, local.reason]).toEqual([ex.value, ex.variant, fromPbReason(ex.reason)]);
    }
  });

  it("serves the last known values while the daemon is down, then catches up when it is back", async () => {
    const daemon = await startDaemon();
    const writer = client(daemon.address);
    await seed(writer);
    const c = client(daemon.address, { cache: { prefix: "flags/" } });
    await c.ready();
    await until(() => c.cache!.connected, "the cache watches");
    const before = CONTEXTS.map((ctx) => c.cache!.get("flags/layout", ctx));

    await daemon.kill();
    await until(() => !c.cache!.connected, "the cache sees the daemon is gone");
    expect(CONTEXTS.map((ctx) => c.cache!.get("flags/layout", ctx))).toEqual(before);
    expect(c.isOn("flags/on", { unitId: "u" })).toBe(true);
    expect(c.guard("flags/on", { unitId: "u" }, () => "ran")).toBe("ran");
    await expect(c.get("flags/on", { deadlineMs: 2_000, retry: false })).rejects.toMatchObject({ codeName: "UNAVAILABLE" });

    await daemon.launch();
    await until(() => c.cache!.connected, "the cache reconnects");
    const next = c.waitForChange("flags/on", 20_000);
    await writer.set("flags/on", false, { waitForReady: true });
    expect((await next)!.value).toBe(false);
    expect(c.isOn("flags/on", { unitId: "u" })).toBe(false);
  });

  it("re-seeds from a fresh Snapshot when the daemon comes back with another store (its head went backwards)", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address, { cache: { prefix: "" } });
    for (let i = 0; i < 5; i++) await c.set("k", i);
    const last = await c.set("gone", 1);
    await until(() => c.cache!.revision === last.entry!.revision && c.cache!.connected, "the cache is in sync");
    await daemon.kill();
    const fresh = await Daemon.start({ args: ["--listen", daemon.address] }); // same address, empty store
    defer(() => fresh.dispose());
    const reseeded = c.cache!.waitForChange("k", 20_000);
    const w = await c.set("k", "fresh", { waitForReady: true });
    expect(w.entry!.revision).toBe(1);
    expect((await reseeded)!.value).toBe("fresh");
    await until(() => c.cache!.entry("gone") === undefined, "keys of the old store are dropped");
    expect(c.cache!.keys()).toEqual(["k"]);
    expect(c.cache!.revision).toBe(1);
  });

  it("starts from a bootstrap snapshot file with no daemon, and switches to the daemon when it appears", async () => {
    const daemon = await startDaemon();
    const dir = await tempDir();
    const c1 = client(daemon.address, { cache: { prefix: "flags/" } });
    await seed(c1);
    await until(() => c1.cache!.size === 2 && c1.cache!.get("flags/layout")?.entry.rollout !== undefined, "the cache has the seed");
    const fromCache = join(dir, "cache.json");
    const fromRpc = join(dir, "rpc.json");
    await c1.cache!.saveSnapshot(fromCache);
    const snap = await c1.saveSnapshot(fromRpc, { prefix: "flags/" });
    const bare = join(dir, "bare.json");
    await writeFile(bare, JSON.stringify((JSON.parse(await readFile(fromRpc, "utf8")) as { entries: unknown[] }).entries));
    const expected = CONTEXTS.map((ctx) => c1.cache!.get("flags/layout", ctx, 0));
    // The file is the proto3 JSON of a Snapshot response (durations as "3600s", like grpcurl).
    expect(JSON.parse(await readFile(fromRpc, "utf8"))).toMatchObject({ revision: snap.revision, entries: [{ key: "flags/layout", rollout: { plan: { steps: { interval: "3600s" } } } }, { key: "flags/on" }] });
    // The cache's copy holds the same entries as the daemon's Snapshot.
    expect((await readSnapshotFile(fromCache)).entries).toEqual((await readSnapshotFile(fromRpc)).entries);
    await daemon.kill();

    for (const file of [fromCache, fromRpc, bare]) {
      const c = client(daemon.address, { cache: { prefix: "flags/", bootstrapFile: file } });
      await c.ready({ timeoutMs: 20_000 }); // no daemon: only the file can make it ready
      expect(c.cache!.source).toBe("bootstrap");
      expect(c.cache!.connected).toBe(false);
      expect(c.cache!.keys()).toEqual(["flags/layout", "flags/on"]);
      expect(c.isOn("flags/on", { unitId: "anyone" })).toBe(true);
      expect(CONTEXTS.map((ctx) => c.cache!.get("flags/layout", ctx, 0))).toEqual(expected);
    }

    const c2 = client(daemon.address, { cache: { prefix: "flags/", bootstrapFile: fromRpc } });
    await c2.ready({ timeoutMs: 20_000 });
    await daemon.launch();
    await until(() => c2.cache!.source === "daemon" && c2.cache!.connected, "the bootstrapped cache syncs with the daemon");
    const next = c2.waitForChange("flags/on", 20_000);
    await c1.set("flags/on", "after bootstrap", { waitForReady: true });
    expect((await next)!.value).toBe("after bootstrap");
  });

  it("without data, ready() times out; a missing bootstrap file is not an error, an unreadable one is reported", async () => {
    const dir = await tempDir();
    const nowhere = `127.0.0.1:${await freePort()}`;
    const missing = client(nowhere, { cache: { prefix: "", bootstrapFile: join(dir, "none.json") } });
    const errors: string[] = [];
    missing.cache!.onError((e) => errors.push(e.message));
    await expect(missing.ready({ timeoutMs: 500 })).rejects.toThrow(/no data after 500 ms/);
    expect(errors.some((m) => m.includes("bootstrap"))).toBe(false);
    expect(missing.cache!.source).toBe("none");

    const corrupt = join(dir, "corrupt.json");
    await writeFile(corrupt, "{ not json");
    const bad = client(nowhere, { cache: { prefix: "", bootstrapFile: corrupt } });
    const badErrors: string[] = [];
    bad.cache!.onError((e) => badErrors.push(e.message));
    await until(() => badErrors.some((m) => m.includes("bootstrap file")), "the unreadable bootstrap file is reported");
    expect(bad.cache!.source).toBe("none");
  });
});

describe("waitForChange", () => {
  it("resolves undefined on timeout, with or without a cache", async () => {
    const daemon = await startDaemon();
    const cached = client(daemon.address, { cache: { prefix: "" } });
    await cached.ready();
    expect(await cached.waitForChange("quiet", 300)).toBeUndefined();
    const plain = client(daemon.address);
    expect(await plain.waitForChange("quiet", 300)).toBeUndefined();
  });

  it("with `after`, resolves with the first change after that revision, even one that already happened", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const r1 = await c.set("k", 1);
    await c.set("other", 1);
    const r2 = await c.set("k", 2);
    expect(await c.waitForChange("k", 20_000, { after: r1.entry!.revision })).toMatchObject({ value: 2, revision: r2.entry!.revision });
    const later = c.waitForChange("k", 20_000, { after: r2.entry!.revision });
    const r3 = await c.set("k", 3);
    expect((await later)!.revision).toBe(r3.entry!.revision);
  });
});

describe("isOn and guard", () => {
  it("isOn is the truthiness of the resolved value; guard runs fn only when on, for exactly the daemon's units", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address, { cache: { prefix: "t/" } });
    const table: [string, unknown, boolean][] = [
      ["t/true", true, true],
      ["t/false", false, false],
      ["t/zero", 0, false],
      ["t/one", 1, true],
      ["t/empty", "", false],
      ["t/str", "on", true],
      ["t/null", null, false],
      ["t/obj", {}, true],
    ];
    for (const [k, v] of table) await c.set(k, v as never);
    const canary = await c.set("t/canary", true, { rollout: { stable: false, percentage: { $case: "steps", value: { start: 25, increment: 25, interval: { seconds: 3600, nanos: 0 }, target: 100 } } } });
    await c.ready();
    await until(() => c.cache!.revision >= canary.entry!.revision, "the cache has everything");

    for (const [k, , on] of table) {
      expect(c.isOn(k, { unitId: "u" }), k).toBe(on);
      let ran = false;
      const out = c.guard(k, { unitId: "u" }, (value) => ((ran = true), { value }));
      expect(ran, k).toBe(on);
      expect(out, k).toEqual(on ? { value: c.cache!.value(k) } : undefined);
    }
    expect(c.isOn("t/missing")).toBe(false);
    expect(c.guard("t/missing", undefined, () => "ran")).toBeUndefined();

    let guarded = 0;
    for (let i = 0; i < 200; i++) {
      const ctx = { unitId: `user-${i}` };
      const daemonSays = (await c.get("t/canary", { context: ctx })).value === true;
      const ran = c.guard("t/canary", ctx, () => true) ?? false;
      expect(ran, ctx.unitId).toBe(daemonSays);
      if (ran) guarded++;
    }
    expect(guarded).toBeGreaterThan(0);
    expect(guarded).toBeLessThan(200);
  });

  it("isOn without a cache is a usage error", () => {
    const c = client("127.0.0.1:1");
    expect(() => c.isOn("k")).toThrow(/needs a cache/);
  });
});
