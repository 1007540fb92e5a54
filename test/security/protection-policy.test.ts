import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../src/gen/ctm/v1/auth_service.js";
import { PromoteTarget } from "../../src/gen/ctm/v1/rollout_service.js";
import { AuthApi } from "../helpers/auth.js";
import { api, connect, rejects, rolloutApi, tokenMetadata, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { eventually, healthApi, metricsAddress, plan, seconds, validatorApi } from "../helpers/safety-clients.js";

let daemon: Daemon;
let client: Client;
let admin: AuthApi;
let adminToken: string;
const t: Record<string, string> = {};

/** The API as `token`, sending the break-glass header on every call. */
function breakingGlass(token: string) {
  const md = (): grpc.Metadata => {
    const m = tokenMetadata(token);
    m.set("ctm-break-glass", "incident 4711");
    return m;
  };
  return {
    set: (key: string, value: unknown) =>
      new Promise<{ entry?: { breakGlass: boolean; revision: number } }>((resolve, reject) =>
        client.set({ key, value, author: "sre", message: "hotfix", expectedVersion: undefined, rollout: undefined }, md(), (e, r) => (e ? reject(e) : resolve(r))),
      ),
  };
}

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0"] });
  adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
  client = connect(daemon.address);
  admin = new AuthApi(daemon.address, adminToken);
  const all = [Verb.VERB_READ, Verb.VERB_WRITE, Verb.VERB_ROLLOUT];
  await admin.setRole({ name: "dev", grants: [{ verbs: all, keys: ["pay/**", "open/**"] }] });
  await admin.setRole({ name: "sre", grants: [{ verbs: [...all, Verb.VERB_BREAK_GLASS], keys: ["pay/**", "open/**"] }] });
  t.dev = await admin.createToken("dev", ["dev"]);
  t.sre = await admin.createToken("sre", ["sre"]);
  const c = api(client, adminToken);
  // Written before the policies: a plain key and a key rolling out.
  await c.set({ key: "pay/limit", value: 100 });
  await c.set({ key: "pay/limit", value: 200 });
  await c.set({ key: "pay/strict/fee", value: 1 });
  await c.set({ key: "pay/strict/fee", value: 2 });
  await c.set({ key: "pay/strict/new-checkout", value: false });
  await c.set({ key: "pay/strict/new-checkout", value: true, rollout: plan({ percentage: { $case: "steps", value: { start: 10, increment: 10, interval: seconds(3600), target: 100 } } }) });
  await c.set({ key: "pay/strict/paused", value: false });
  await c.set({ key: "pay/strict/paused", value: true, rollout: plan({ percentage: { $case: "steps", value: { start: 10, increment: 10, interval: seconds(3600), target: 100 } } }) });
  await rolloutApi(daemon.address, adminToken).pause({ key: "pay/strict/paused" });
  await c.set({ key: "pay/rolling", value: false });
  await c.set({ key: "pay/rolling", value: true, rollout: plan({ percentage: { $case: "steps", value: { start: 10, increment: 10, interval: seconds(3600), target: 100 } } }) });
  // Strict: every action needs a review; default: rollback, kill and abort stay direct.
  await c.set({ key: "_ctm/policies/strict", value: { keys: ["pay/strict/**"], approvals: 2, direct: [] } });
  await c.set({ key: "_ctm/policies/payments", value: { keys: ["pay/**"], description: "money moves here" } });
}, 60_000);

afterAll(async () => {
  admin?.close();
  client?.close();
  await daemon?.dispose();
});

const headRevision = async (): Promise<number> => (await api(client, adminToken).snapshot({ prefix: "", pageSize: 1 })).header!.revision;

/** A counter's value from /metrics, read as the admin (it answers 401 without a token under auth). */
async function counter(name: string, labels: string): Promise<number> {
  const res = await fetch(`http://${metricsAddress(daemon)}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
  const line = (await res.text()).split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

const expectRefused = async (what: string, p: Promise<unknown>, policy: string): Promise<void> => {
  const e = await rejects(p);
  expect([what, e.code]).toEqual([what, grpc.status.FAILED_PRECONDITION]);
  expect(e.details).toContain(`is protected by policy "${policy}"`);
};

describe("protection policies", () => {
  it("checks a policy document on every write path, naming the bad member", async () => {
    const c = api(client, adminToken);
    let e = await rejects(c.set({ key: "_ctm/policies/bad", value: { keys: ["pay/**"], approvals: 0 } }));
    expect([e.code, e.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^value\.approvals: /)]);
    e = await rejects(c.set({ key: "_ctm/policies/bad", value: { keys: ["pay/**"], direct: ["reboot"] } }));
    expect(e.details).toMatch(/^value\.direct\[0\]: /);
    e = await rejects(c.apply({ operations: [{ operation: { $case: "set", value: { key: "_ctm/policies/bad", value: { keys: [] } } } }] }));
    expect(e.details).toMatch(/^operations\[0\]\.set\.value\.keys: /);
    e = await rejects(c.set({ key: "_ctm/policies/bad", value: { keys: ["pay/**"], environments: [] } }));
    expect(e.details).toMatch(/^value\.environments: /);
  });

  it("refuses every write path to a protected key with FAILED_PRECONDITION naming the policy, and writes nothing", async () => {
    const c = api(client, t.dev);
    const r = rolloutApi(daemon.address, t.dev);
    const before = await headRevision();
    const key = "pay/strict/fee";
    const rolling = "pay/strict/new-checkout";
    const attempts: [string, () => Promise<unknown>][] = [
      ["Set", () => c.set({ key, value: 3 })],
      ["Set with a rollout", () => c.set({ key, value: 3, rollout: plan({ percentage: { $case: "steps", value: { start: 10, increment: 10, interval: seconds(60), target: 100 } } }) })],
      ["Set of a new key", () => c.set({ key: "pay/strict/brand-new", value: 1 })],
      ["Delete", () => c.delete({ key })],
      ["Apply set", () => c.apply({ operations: [{ operation: { $case: "set", value: { key: "open/x", value: 1 } } }, { operation: { $case: "set", value: { key, value: 3 } } }] })],
      ["Apply delete", () => c.apply({ operations: [{ operation: { $case: "delete", value: { key, force: false } } }] })],
      ["Rollback", () => c.rollback({ key, toVersion: 1 })],
      ["RollbackPrefix", () => c.rollbackPrefix({ prefix: "pay/strict/", to: { $case: "revision", value: 1 } })],
      ["Pause", () => r.pause({ key: rolling })],
      ["Promote", () => r.promote({ key: rolling, target: PromoteTarget.PROMOTE_TARGET_NEXT })],
      ["Kill", () => r.kill({ key: rolling })],
      ["Abort", () => r.abort({ key: rolling })],
      ["Resume", () => r.resume({ key: "pay/strict/paused" })],
    ];
    for (const [what, attempt] of attempts) await expectRefused(what, attempt(), "strict");
    r.client.close();
    expect(await headRevision()).toBe(before);
    expect((await c.get({ key })).value).toBe(2);
    expect((await c.history({ key, limit: 10 })).entries).toHaveLength(2);
    // Keys the policies do not cover are written as ever.
    expect((await c.set({ key: "open/x", value: 1 })).entry!.breakGlass).toBe(false);
  });

  it("covers the definitions the admin services write as well: validators, health checks, roles and tokens", async () => {
    const v = validatorApi(daemon.address, adminToken);
    const h = healthApi(daemon.address, adminToken);
    const rule = { path: "", rule: { $case: "type" as const, value: 2 } };
    const check = (name: string) => ({ name, keys: ["open/**"], maxErrorRate: 0.1, source: { $case: "pushed" as const, value: {} } });
    await v.setValidator({ validator: { name: "defs-v", keys: ["open/**"], rules: [rule] } });
    await h.setHealthCheck({ check: check("defs-h") });
    await admin.setRole({ name: "defs-r", grants: [{ verbs: [Verb.VERB_READ], keys: ["open/**"] }] });
    await api(client, adminToken).set({ key: "_ctm/policies/defs", value: { keys: ["_ctm/validators/**", "_ctm/health/**", "_ctm/auth/**"], direct: [] } });
    const before = await headRevision();
    const attempts: [string, () => Promise<unknown>][] = [
      ["SetValidator (new)", () => v.setValidator({ validator: { name: "defs-v2", keys: ["open/**"], rules: [rule] } })],
      ["SetValidator (existing)", () => v.setValidator({ validator: { name: "defs-v", keys: ["open/x/**"], rules: [rule] } })],
      ["DeleteValidator", () => v.deleteValidator({ name: "defs-v" })],
      ["SetHealthCheck", () => h.setHealthCheck({ check: check("defs-h2") })],
      ["DeleteHealthCheck", () => h.deleteHealthCheck({ name: "defs-h" })],
      ["SetRole", () => admin.setRole({ name: "defs-r2", grants: [{ verbs: [Verb.VERB_READ], keys: ["open/**"] }] })],
      ["CreateToken", () => admin.createToken("defs-t", ["defs-r"])],
      ["RevokeToken", () => admin.revokeToken("dev")],
    ];
    for (const [what, attempt] of attempts) await expectRefused(what, attempt(), "defs");
    expect(await headRevision()).toBe(before);
    await api(client, adminToken).delete({ key: "_ctm/policies/defs" });
    await v.deleteValidator({ name: "defs-v" });
    v.client.close();
    h.client.close();
  });

  it("leaves a rollback, a kill and an abort direct under the default policy, and refuses the rest", async () => {
    const c = api(client, t.dev);
    const r = rolloutApi(daemon.address, t.dev);
    await expectRefused("Set", c.set({ key: "pay/limit", value: 300 }), "payments");
    await expectRefused("Pause", r.pause({ key: "pay/rolling" }), "payments");
    const back = await c.rollback({ key: "pay/limit", toVersion: 1 });
    expect(back.entry).toMatchObject({ value: 100, breakGlass: false, principal: "token:dev" });
    const killed = await r.kill({ key: "pay/rolling" });
    expect(killed.entry!.revision).toBeGreaterThan(back.entry!.revision);
    await r.abort({ key: "pay/rolling" });
    r.client.close();
  });

  it("lets a caller with break_glass write a protected key when asked: the record is marked, counted and logged at warn", async () => {
    const counted = () => counter("ctm_break_glass_writes_total", 'policy="strict"');
    const before = await counted();
    // Without the right, asking is refused before anything runs.
    const denied = await rejects(breakingGlass(t.dev).set("pay/strict/fee", 9));
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/break_glass/);

    const written = await breakingGlass(t.sre).set("pay/strict/fee", 9);
    expect(written.entry!.breakGlass).toBe(true);
    const c = api(client, t.sre);
    const [latest] = (await c.history({ key: "pay/strict/fee", limit: 1 })).entries;
    expect(latest).toMatchObject({ value: 9, breakGlass: true, principal: "token:sre", message: "hotfix" });
    expect(await counted()).toBe(before + 1);
    const line = await eventually("the warn line", () => daemon.logs.find((l) => l.msg === "a protected key was written by breaking the glass" && l.revision === written.entry!.revision));
    expect(line).toMatchObject({ level: 40, key: "pay/strict/fee", principal: "token:sre", policies: ["payments", "strict"] });

    // Asked on a key no policy covers: written, and not marked.
    expect((await breakingGlass(t.sre).set("open/y", 1)).entry!.breakGlass).toBe(false);
    expect(await counted()).toBe(before + 1);
  });

  it("keeps the principal and the break-glass request of a Delete and an Apply with deletes, which wait for the delete guard first", async () => {
    const dev = api(client, t.dev);
    await dev.set({ key: "open/gone", value: 1 });
    const del = await dev.delete({ key: "open/gone" });
    expect(del.entry).toMatchObject({ deleted: true, principal: "token:dev" });
    const md = tokenMetadata(t.sre);
    md.set("ctm-break-glass", "incident 4712");
    const applied = await new Promise<{ entries: { key: string; principal: string; breakGlass: boolean }[] }>((resolve, reject) =>
      client.apply(
        {
          operations: [
            { operation: { $case: "delete", value: { key: "pay/strict/fee", expectedVersion: undefined, force: false } } },
            { operation: { $case: "set", value: { key: "open/z", value: 1, expectedVersion: undefined, rollout: undefined } } },
          ],
          author: "sre",
          message: "",
        },
        md,
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(applied.entries.map((e) => [e.key, e.principal, e.breakGlass])).toEqual([
      ["pay/strict/fee", "token:sre", true],
      ["open/z", "token:sre", false],
    ]);
    await api(client, t.sre).set({ key: "pay/strict/fee", value: 9 }).catch(() => undefined);
  });

  it("limited to environments, protects what may be served there: a value without rings, or a rollout whose rings reach them", async () => {
    const c = api(client, adminToken);
    await c.set({ key: "_ctm/policies/prod", value: { keys: ["open/env/**"], environments: ["prod"] } });
    const rings = (order: string[]) => plan({ stable: false, rings: { order, interval: seconds(0) } });
    await expectRefused("a value served everywhere", c.set({ key: "open/env/flag", value: true }), "prod");
    await expectRefused("a rollout that reaches prod", c.set({ key: "open/env/flag", value: true, rollout: rings(["dev", "prod"]) }), "prod");
    expect((await c.set({ key: "open/env/flag", value: true, rollout: rings(["dev", "staging"]) })).entry!.version).toBe(1);
    await c.delete({ key: "_ctm/policies/prod" });
  });

  it("stops protecting once the policy is deleted", async () => {
    const c = api(client, t.dev);
    await expectRefused("Set", c.set({ key: "pay/strict/fee", value: 10 }), "strict");
    await api(client, adminToken).delete({ key: "_ctm/policies/strict" });
    await expectRefused("Set", c.set({ key: "pay/strict/fee", value: 10 }), "payments");
    await api(client, adminToken).delete({ key: "_ctm/policies/payments" });
    expect((await c.set({ key: "pay/strict/fee", value: 10 })).entry!.value).toBe(10);
  });
});
