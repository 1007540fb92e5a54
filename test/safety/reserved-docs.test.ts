import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/domain/clock.js";
import type { JsonValue } from "@ctm/core/json";
import { LevelLogStore } from "../../src/storage/level/level-log-store.js";
import { api, connect, headRevision, rejects } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { healthApi, metricsAddress, plan, rule, scrape, validatorApi } from "../helpers/safety-clients.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup(dataDir?: string) {
  const daemon = await Daemon.start({ dataDir });
  const client = connect(daemon.address);
  const v = validatorApi(daemon.address);
  const h = healthApi(daemon.address);
  cleanups.push(() => daemon.dispose(), () => client.close(), () => v.client.close(), () => h.client.close());
  return { daemon, client, c: api(client), v, h };
}

/** A data directory holding documents as an older ctmd wrote them, unchecked. */
async function legacyDataDir(docs: [string, JsonValue][]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ctm-legacy-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = new LevelLogStore(dir, systemClock);
  await store.open();
  for (const [key, value] of docs) await store.commit(() => [{ key, value, deleted: false, author: "old-ctmd", message: "", kind: "set", cause: "api" }]);
  await store.close();
  return dir;
}

/** Refused with INVALID_ARGUMENT naming `field`, and nothing written. */
async function expectRefused(client: ReturnType<typeof connect>, call: () => Promise<unknown>, field: string, message: RegExp) {
  const before = await headRevision(client);
  const err = await rejects(call());
  expect({ code: grpc.status[err.code], field: err.metadata.get("ctm-field")[0] }).toEqual({ code: "INVALID_ARGUMENT", field });
  expect(err.details).toMatch(message);
  expect(await headRevision(client)).toBe(before);
}

const POOL = { keys: ["db/*"], rules: [{ path: "", kind: "range", min: 1, max: 100 }] };
const CHECK = { keys: ["api.*"], maxErrorRate: 0.05 };

describe("reserved documents are checked against their schema on every write path", () => {
  it("a raw Set of a validator with an unknown rule kind is refused naming the member; later writes are unaffected", async () => {
    const { client, c, v } = await setup();
    await expectRefused(client, () => c.set({ key: "_ctm/validators/pool", value: { ...POOL, rules: [{ path: "", kind: "exotic" }] } }), "value.rules[0].kind", /must be one of "type", "range"/);
    await expectRefused(client, () => c.set({ key: "_ctm/validators/pool", value: { ...POOL, rule: [] } }), "value.rule", /is not a known member/);
    await expectRefused(client, () => c.set({ key: "_ctm/validators/pool", value: { ...POOL, rules: [{ kind: "regex", pattern: "(?<!x)y" }] } }), "value.rules[0].pattern", /not a linear-time \(RE2\) regex/);
    // Written before: every write to db/* failed with INTERNAL. Now nothing was stored.
    expect((await c.set({ key: "db/size", value: 50 })).entry!.version).toBe(1);
    expect((await v.listValidators({})).validators).toEqual([]);
    // A valid raw definition is taken and enforced.
    await c.set({ key: "_ctm/validators/pool", value: POOL });
    expect((await rejects(c.set({ key: "db/size", value: 501 }))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("a raw Set of a health check with an unknown source or action is refused naming the member", async () => {
    const { client, c, h } = await setup();
    await expectRefused(client, () => c.set({ key: "_ctm/health/api", value: { ...CHECK, source: { kind: "carrier-pigeon" } } }), "value.source.kind", /must be one of "pushed", "http", "prometheus"/);
    await expectRefused(client, () => c.set({ key: "_ctm/health/api", value: { ...CHECK, action: "explode" } }), "value.action", /must be equal to one of the allowed values/);
    await expectRefused(client, () => c.set({ key: "_ctm/health/api", value: { keys: ["api.*"] } }), "value.maxErrorRate", /is required/);
    expect((await h.listHealthChecks({})).checks).toEqual([]);
    await c.set({ key: "_ctm/health/api", value: CHECK });
    expect((await h.listHealthChecks({})).checks.map((x) => [x.name, x.minSamples])).toEqual([["api", 20]]);
  });

  it("Apply: one bad document refuses the whole batch, naming the operation", async () => {
    const { client, c } = await setup();
    await expectRefused(
      client,
      () =>
        c.apply({
          operations: [
            { operation: { $case: "set", value: { key: "plain", value: 1 } } },
            { operation: { $case: "set", value: { key: "_ctm/health/api", value: { ...CHECK, windowMs: "1m" } } } },
          ],
        }),
      "operations[1].set.value.windowMs",
      /must be number/,
    );
    expect((await rejects(c.get({ key: "plain" }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it("keys under _ctm/ that are no known document, bad names and rollouts are refused", async () => {
    const { client, c } = await setup();
    await c.set({ key: "_ctm/validators/pool", value: POOL });
    await expectRefused(client, () => c.set({ key: "_ctm/notes/x", value: "hello" }), "key", /is reserved: under _ctm\/ only _ctm\/validators\/<name>, _ctm\/health\/<name>, _ctm\/auth\/roles\/<name>, _ctm\/auth\/tokens\/<name>, _ctm\/retention\/<name>, _ctm\/holds\/<name>, _ctm\/policies\/<name> may be written/);
    await expectRefused(client, () => c.set({ key: "_ctm/validators/a/b", value: POOL }), "key", /must end in a name/);
    await expectRefused(
      client,
      () => c.apply({ operations: [{ operation: { $case: "set", value: { key: "_ctm/validators/pool", value: POOL, rollout: plan({ earlyAdopters: ["u1"] }) } } }] }),
      "operations[0].set.rollout",
      /is not allowed on _ctm\/ documents/,
    );
  });

  it("SetValidator and SetHealthCheck: globs and sizes are checked too", async () => {
    const { client, v, h } = await setup();
    await expectRefused(client, () => v.setValidator({ validator: { name: "p", keys: ["db/{a,b}"], rules: [rule.range(1, 2)] } }), "validator.keys[0]", /key characters/);
    await expectRefused(client, () => v.setValidator({ validator: { name: "p", keys: Array.from({ length: 101 }, (_, i) => `db/${i}`), rules: [rule.range(1, 2)] } }), "validator.keys", /must hold at most 100 key patterns/);
    await expectRefused(client, () => h.setHealthCheck({ check: { name: "c", keys: ["api/[ab]"], maxErrorRate: 0.1, source: { $case: "pushed", value: {} } } }), "check.keys[0]", /key characters/);
  });
});

describe("documents an older ctmd stored unchecked", () => {
  it("Rollback and RollbackPrefix refuse to restore a version that would be refused today, writing nothing", async () => {
    const dir = await legacyDataDir([["_ctm/health/api", { ...CHECK, source: { kind: "carrier-pigeon" } }]]);
    const { client, c } = await setup(dir);
    const v2 = await c.set({ key: "_ctm/health/api", value: CHECK });
    await expectRefused(client, () => c.rollback({ key: "_ctm/health/api" }), "to_version", /^to_version: would restore version 1 of "_ctm\/health\/api", which is not valid today \(value\.source\.kind: must be one of/);
    await expectRefused(client, () => c.rollbackPrefix({ prefix: "_ctm/", to: { $case: "revision", value: v2.entry!.revision - 1 } }), "to", /^to: would restore version 1 of "_ctm\/health\/api"/);
  });

  it("a validator that cannot be compiled fails closed: writes to its keys answer FAILED_PRECONDITION naming it, it is counted, and deleting it lifts that", async () => {
    // A JavaScript lookahead inside a JSON Schema: Ajv took it on JavaScript regexes, RE2 cannot run it.
    const dir = await legacyDataDir([["_ctm/validators/legacy", { keys: ["svc/**"], rules: [{ path: "", kind: "json_schema", schema: { pattern: "^(?!admin)" } }] }]]);
    const { daemon, client, c, v } = await setup(dir);
    const metrics = metricsAddress(daemon);
    expect((await scrape(metrics)).value("ctm_validators_broken")).toBe(1);

    const before = await headRevision(client);
    const err = await rejects(c.set({ key: "svc/users", value: "admin" }));
    expect(grpc.status[err.code]).toBe("FAILED_PRECONDITION");
    expect(err.details).toMatch(/^validator "legacy" \(version 1 of _ctm\/validators\/legacy\) cannot be compiled, so writes to "svc\/users" and other keys it covers are refused until it is fixed or deleted: .*not a linear-time \(RE2\) regex/);
    expect(await headRevision(client)).toBe(before);
    expect((await c.set({ key: "other", value: 1 })).entry!.version).toBe(1);

    await v.deleteValidator({ name: "legacy" });
    expect((await scrape(metrics)).value("ctm_validators_broken")).toBe(0);
    expect((await c.set({ key: "svc/users", value: "admin" })).entry!.version).toBe(1);
  });
});
