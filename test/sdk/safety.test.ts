/**
 * CtmClient's safety APIs against a real ctmd: `client.validators`, `client.health`,
 * `client.accessLog`; and their retry rule against a scripted server.
 */
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { AccessLogServiceService } from "../../src/gen/ctm/v1/access_log_service.js";
import { HealthCheckServiceService } from "../../src/gen/ctm/v1/health_check_service.js";
import { ValidatorServiceService } from "../../src/gen/ctm/v1/validator_service.js";
import { CtmError, HealthAction, isRetrySafe, PbReason, RecordKind, ValueType, Verdict, type Entry } from "../../clients/ts/src/index.js";
import { client, defer, startDaemon } from "./helpers.js";

const fail = (p: Promise<unknown>): Promise<CtmError> =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => {
      if (!(e instanceof CtmError)) throw e;
      return e;
    },
  );

/** Polls `probe` until it returns something; rejects after `ms` (a liveness bound). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const range = (min: number | undefined, max: number | undefined, path = "") => ({ path, rule: { $case: "range" as const, value: { min, max } } });
/** Steps that stay at 50% for an hour: still rolling when the test ends. */
const slowSteps = { percentage: { $case: "steps" as const, value: { start: 50, increment: 10, interval: { seconds: 3600, nanos: 0 }, target: 100 } } };

describe("client.validators", () => {
  it("setValidator, listValidators, a refused Set (CtmError listing the rule), validate, force, expectedVersion, deleteValidator", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address, { author: "sdk-bot" });

    const set = await c.validators.setValidator(
      { name: "limits", keys: ["svc/*/limit"], rules: [range(0, 10)], description: "limits are 0..10" },
      { author: "ana", message: "add limits" },
    );
    expect(set.entry).toMatchObject({ key: "_ctm/validators/limits", version: 1, author: "ana", message: "add limits" });
    expect(set.existingViolations).toEqual([]);

    const listed = await c.validators.listValidators({ key: "svc/pay/limit" });
    expect(listed.validators).toEqual([
      { name: "limits", keys: ["svc/*/limit"], rules: [{ path: "", rule: { $case: "range", value: { min: 0, max: 10 } } }], description: "limits are 0..10" },
    ]);
    expect((await c.validators.listValidators({ key: "other/limit" })).validators).toEqual([]);
    expect((await c.validators.listValidators()).validators.map((v) => v.name)).toEqual(["limits"]);

    expect((await c.set("svc/pay/limit", 5)).entry).toMatchObject({ version: 1, value: 5 });
    // A refused Set through the SDK: INVALID_ARGUMENT, the message and the decoded trailer name the rule; nothing written.
    const refused = await fail(c.set("svc/pay/limit", 11));
    expect(refused).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, codeName: "INVALID_ARGUMENT", method: "Set", field: "value", violationsTotal: 1 });
    expect(refused.details).toBe("value: violates 1 rule: [limits] value: must be <= 10, not 11");
    expect(refused.violations).toEqual([{ validator: "limits", field: "value", path: "", rule: 0, message: "must be <= 10, not 11" }]);
    expect((await c.get("svc/pay/limit")).entry).toMatchObject({ version: 1, value: 5 });

    // validate: a dry run, for a value and for a rollout's candidates.
    const bad = await c.validators.validate("svc/pay/limit", 42);
    expect(bad).toMatchObject({ valid: false, violations: [{ validator: "limits", field: "value", path: "", rule: 0, message: "must be <= 10, not 42" }] });
    expect(await c.validators.validate("svc/pay/limit", 3)).toMatchObject({ valid: true, violations: [] });
    const ro = await c.validators.validate("svc/pay/limit", 4, { rollout: { stable: -1, ...slowSteps } });
    expect(ro.violations).toEqual([{ validator: "limits", field: "rollout.stable", path: "", rule: 0, message: "must be >= 0, not -1" }]);
    expect((await c.get("svc/pay/limit")).entry!.version).toBe(1);

    // A validator current values violate: FAILED_PRECONDITION with the violations, unless force.
    const tighter = { name: "limits", keys: ["svc/*/limit"], rules: [range(0, 4)] };
    const pre = await fail(c.validators.setValidator(tighter, { expectedVersion: 1 }));
    expect(pre.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(pre.violations).toEqual([expect.objectContaining({ validator: "limits", path: "", rule: 0, message: "must be <= 4, not 5" })]);
    const forced = await c.validators.setValidator(tighter, { force: true, expectedVersion: 1 });
    expect(forced.entry).toMatchObject({ version: 2, author: "sdk-bot" });
    expect(forced.existingViolations).toEqual([expect.objectContaining({ validator: "limits", message: "must be <= 4, not 5" })]);
    // Compare-and-set: a stale expectedVersion is ABORTED with the versions decoded.
    expect(await fail(c.validators.setValidator(tighter, { force: true, expectedVersion: 1 }))).toMatchObject({ code: grpc.status.ABORTED, expectedVersion: 1, actualVersion: 2 });

    const del = await c.validators.deleteValidator("limits", { message: "gone" });
    expect(del.entry).toMatchObject({ key: "_ctm/validators/limits", deleted: true, kind: RecordKind.RECORD_KIND_DELETE, message: "gone" });
    expect((await c.validators.listValidators()).validators).toEqual([]);
    expect((await c.set("svc/pay/limit", 11)).entry).toMatchObject({ version: 2, value: 11 });
    expect((await fail(c.validators.deleteValidator("limits"))).code).toBe(grpc.status.NOT_FOUND);
  });
});

describe("client.health", () => {
  it("setHealthCheck, listHealthChecks, reportMetrics with bad numbers on a rolling key -> AUTO_ROLLBACK, deleteHealthCheck", async () => {
    const daemon = await startDaemon(["--health-interval-ms", "100"]);
    const c = client(daemon.address);

    await c.set("checkout", "v1", { author: "ana" });
    const rolling = await c.set("checkout", "v2", { author: "ana", rollout: slowSteps });
    expect(rolling.entry!.version).toBe(2);

    const check = {
      name: "checkout-errors",
      keys: ["checkout"],
      source: { $case: "pushed" as const, value: {} },
      maxErrorRate: 0.1,
      minSamples: 20,
      failuresToAct: 2,
      window: { seconds: 60, nanos: 0 },
    };
    const set = await c.health.setHealthCheck(check, { author: "sre", message: "guard checkout" });
    expect(set.entry).toMatchObject({ key: "_ctm/health/checkout-errors", version: 1, author: "sre", message: "guard checkout" });

    const listed = await c.health.listHealthChecks({ key: "checkout" });
    expect(listed.checks).toHaveLength(1);
    expect(listed.checks[0]).toMatchObject({
      name: "checkout-errors",
      keys: ["checkout"],
      source: { $case: "pushed", value: {} },
      maxErrorRate: 0.1,
      minSamples: 20,
      failuresToAct: 2,
      window: { seconds: 60, nanos: 0 },
      action: HealthAction.HEALTH_ACTION_ROLLBACK,
    });
    expect((await c.health.listHealthChecks({ key: "unrelated" })).checks).toEqual([]);

    const rep = await c.health.reportMetrics([
      { key: "checkout", variant: "new", requests: 100, errors: 60 },
      { key: "checkout", variant: "stable", requests: 100, errors: 1, time: Date.now() },
    ]);
    expect(rep.accepted).toBe(2);

    // The health loop (every 100 ms) acts after two failing ticks: poll with a deadline.
    const rb = await eventually<Entry>("an AUTO_ROLLBACK record on checkout", async () => {
      const e = (await c.history("checkout", { limit: 1 })).entries[0];
      return e?.kind === RecordKind.RECORD_KIND_AUTO_ROLLBACK ? e : undefined;
    });
    expect(rb).toMatchObject({ key: "checkout", version: 3, value: "v1", author: "health:checkout-errors", cause: "health" });
    expect(rb.message).toContain("canary error rate 60.00% > threshold 10.00%");
    expect(await c.get("checkout", { context: { unitId: "user-1" } })).toMatchObject({ value: "v1", reason: PbReason.REASON_ROLLED_BACK });

    const state = (await c.health.listHealthChecks({ key: "checkout" })).states.find((s) => s.check === "checkout-errors" && s.key === "checkout");
    expect(state).toMatchObject({ verdict: Verdict.VERDICT_BREACHED, canaryErrorRate: 0.6, canarySamples: 100, stableSamples: 100 });

    const del = await c.health.deleteHealthCheck("checkout-errors", { author: "sre" });
    expect(del.entry).toMatchObject({ key: "_ctm/health/checkout-errors", deleted: true, author: "sre" });
    expect((await c.health.listHealthChecks()).checks).toEqual([]);
  });
});

describe("client.accessLog", () => {
  it("query finds a Get made with a requestId through the SDK (call option or context)", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const entry = (await c.set("flags/new-ui", true, { rollout: { stable: false, earlyAdopters: ["alice"] } })).entry!;

    const g = await c.get("flags/new-ui", { requestId: "req-sdk-1", context: { unitId: "alice" } });
    expect(g).toMatchObject({ value: true, variant: "new", reason: PbReason.REASON_EARLY_ADOPTER });
    const bob = await c.get("flags/new-ui", { context: { unitId: "bob", requestId: "req-sdk-2" } });

    const r1 = await c.accessLog.query({ requestId: "req-sdk-1" });
    expect(r1.records).toEqual([
      expect.objectContaining({ requestId: "req-sdk-1", unitId: "alice", key: "flags/new-ui", version: entry.version, revision: entry.revision, variant: "new", reason: PbReason.REASON_EARLY_ADOPTER, source: "ctmd" }),
    ]);
    expect(r1.nextPageToken).toBe("");
    const r2 = await c.accessLog.query({ requestId: "req-sdk-2" });
    expect(r2.records).toEqual([expect.objectContaining({ requestId: "req-sdk-2", unitId: "bob", key: "flags/new-ui", variant: bob.variant, reason: bob.reason })]);
    expect((await c.accessLog.query({ key: "flags/new-ui", startTime: entry.time!, endTime: new Date(Date.now() + 1000) })).records).toHaveLength(2);

    expect((await fail(c.accessLog.query({}))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("queryAll pages through 25 records with limit 10; upload then query finds it", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    await c.set("pages/k", 1);
    for (let i = 0; i < 25; i++) await c.get("pages/k", { context: { unitId: "pager", requestId: `p-${i}` } });

    const first = await c.accessLog.query({ unitId: "pager", limit: 10 });
    expect(first.records).toHaveLength(10);
    expect(first.nextPageToken).not.toBe("");

    // Count the QueryAccessLog calls queryAll makes with an interceptor.
    const queries: string[] = [];
    const counted = client(daemon.address, {
      interceptors: [
        (options, next) => {
          if (options.method_definition.path.endsWith("/QueryAccessLog")) queries.push(options.method_definition.path);
          return new grpc.InterceptingCall(next(options));
        },
      ],
    });
    const seen: string[] = [];
    for await (const r of counted.accessLog.queryAll({ unitId: "pager", limit: 10 })) seen.push(r.requestId);
    expect(queries).toHaveLength(3); // 10 + 10 + 5
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual(Array.from({ length: 25 }, (_, i) => `p-${i}`).sort());
    expect(seen[0]).toBe("p-24"); // newest first

    const up = await c.accessLog.upload([
      { requestId: "edge-1", unitId: "u-9", key: "pages/k", version: 1, revision: 1, variant: "stable", reason: PbReason.REASON_STATIC, source: "sdk-ts", time: new Date(Date.now() - 1000) },
      { unitId: "u-9", key: "pages/k" },
    ]);
    expect(up).toMatchObject({ accepted: 2, dropped: 0 });
    const found = await c.accessLog.query({ requestId: "edge-1" });
    expect(found.records).toEqual([
      expect.objectContaining({ requestId: "edge-1", unitId: "u-9", key: "pages/k", version: 1, revision: 1, variant: "stable", reason: PbReason.REASON_STATIC, source: "sdk-ts" }),
    ]);
    const byUnit = [];
    for await (const r of c.accessLog.queryAll({ unitId: "u-9" })) byUnit.push(r.source);
    expect(byUnit.sort()).toEqual(["sdk", "sdk-ts"]);

    expect((await fail(c.accessLog.upload([{ key: "pages/k" }]))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

// ---- retries, against a scripted server ----

interface Call {
  method: string;
  request: unknown;
}

/** ValidatorService, HealthCheckService and AccessLogService answering the scripted codes in turn (then OK). */
async function scriptedServer(script: Record<string, grpc.status[]>) {
  const calls: Call[] = [];
  type Def = { path: string; responseDeserialize: (b: Buffer) => unknown };
  const handler = (method: string, d: Def) => (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    calls.push({ method, request: call.request });
    const code = script[method]?.shift() ?? grpc.status.OK;
    if (code === grpc.status.OK) return cb(null, d.responseDeserialize(Buffer.alloc(0)));
    cb({ code, details: `scripted ${grpc.status[code]}`, metadata: new grpc.Metadata() });
  };
  const impl = (def: Record<string, Def>, name: (rpc: string) => string) =>
    Object.fromEntries(Object.entries(def).map(([k, d]) => [k, handler(name(d.path.split("/").pop()!), d)]));
  const server = new grpc.Server();
  const names: Record<string, string> = {
    SetValidator: "Validator.Set",
    DeleteValidator: "Validator.Delete",
    ListValidators: "Validator.List",
    Validate: "Validator.Validate",
    SetHealthCheck: "HealthCheck.Set",
    DeleteHealthCheck: "HealthCheck.Delete",
    ListHealthChecks: "HealthCheck.List",
    ReportMetrics: "HealthCheck.ReportMetrics",
    QueryAccessLog: "AccessLog.Query",
    UploadAccessLog: "AccessLog.Upload",
  };
  const name = (rpc: string) => names[rpc] ?? rpc;
  server.addService(ValidatorServiceService, impl(ValidatorServiceService, name));
  server.addService(HealthCheckServiceService, impl(HealthCheckServiceService, name));
  server.addService(AccessLogServiceService, impl(AccessLogServiceService, name));
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  defer(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, calls, count: (m: string) => calls.filter((x) => x.method === m).length };
}

const U = grpc.status.UNAVAILABLE;

describe("the retry rule of the safety APIs", () => {
  it("reportMetrics is sent once on UNAVAILABLE (counts would double) while listValidators is retried", async () => {
    const s = await scriptedServer({ "HealthCheck.ReportMetrics": [U], "Validator.List": [U, U] });
    const retries: string[] = [];
    const c = client(s.address, { onRetry: (r) => retries.push(`${r.method}#${r.attempt}`) });

    const e = await fail(c.health.reportMetrics([{ key: "k", variant: "new", requests: 10, errors: 1 }]));
    expect(e).toMatchObject({ code: U, attempts: 1, method: "HealthCheck.ReportMetrics" });
    expect(s.count("HealthCheck.ReportMetrics")).toBe(1);

    await c.validators.listValidators({ key: "k" });
    expect(s.count("Validator.List")).toBe(3);
    expect(retries).toEqual(["Validator.List#1", "Validator.List#2"]);
  });

  it("reads retried; Set* only with expectedVersion; deletes and uploads never", async () => {
    const reads = ["Validator.List", "Validator.Validate", "HealthCheck.List", "AccessLog.Query"];
    const once = ["Validator.Set", "Validator.Delete", "HealthCheck.Set", "HealthCheck.Delete", "AccessLog.Upload"];
    const s = await scriptedServer(Object.fromEntries([...reads, ...once].map((m) => [m, [U]])));
    const c = client(s.address);

    await c.validators.listValidators();
    await c.validators.validate("k", 1);
    await c.health.listHealthChecks();
    await c.accessLog.query({ key: "k" });
    for (const m of reads) expect(s.count(m), m).toBe(2);

    for (const p of [
      c.validators.setValidator({ name: "v" }),
      c.validators.deleteValidator("v"),
      c.health.setHealthCheck({ name: "h" }),
      c.health.deleteHealthCheck("h"),
      c.accessLog.upload([{ key: "k", unitId: "u" }]),
    ]) {
      expect(await fail(p)).toMatchObject({ code: U, attempts: 1 });
    }
    for (const m of once) expect(s.count(m), m).toBe(1);

    // With compare-and-set the Set writes become safe to retry.
    const again = await scriptedServer({ "Validator.Set": [U], "HealthCheck.Set": [U] });
    const c2 = client(again.address);
    await c2.validators.setValidator({ name: "v" }, { expectedVersion: 1 });
    await c2.health.setHealthCheck({ name: "h" }, { expectedVersion: 0 });
    expect([again.count("Validator.Set"), again.count("HealthCheck.Set")]).toEqual([2, 2]);
    expect(again.calls.map((x) => (x.request as { expectedVersion?: number }).expectedVersion)).toEqual([1, 1, 0, 0]);

    for (const m of reads) expect(isRetrySafe(m, {}), m).toBe(true);
    for (const m of ["Validator.Delete", "HealthCheck.Delete", "HealthCheck.ReportMetrics", "AccessLog.Upload"]) expect(isRetrySafe(m, { expectedVersion: 1 }), m).toBe(false);
  });
});

describe("value types", () => {
  it("validators carry plain JSON (one_of values, JSON Schema) and a type rule", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    await c.validators.setValidator({
      name: "modes",
      keys: ["svc/**"],
      rules: [
        { path: "/mode", rule: { $case: "oneOf", value: { values: ["fast", "safe", null, { x: 1 }] } } },
        { path: "/retries", rule: { $case: "type", value: ValueType.VALUE_TYPE_INTEGER } },
        { path: "", rule: { $case: "jsonSchema", value: { type: "object", required: ["mode"] } } },
      ],
    });
    const v = (await c.validators.listValidators({ key: "svc/a/b" })).validators[0]!;
    expect(v.rules.map((r) => r.rule)).toEqual([
      { $case: "oneOf", value: { values: ["fast", "safe", null, { x: 1 }] } },
      { $case: "type", value: ValueType.VALUE_TYPE_INTEGER },
      { $case: "jsonSchema", value: { type: "object", required: ["mode"] } },
    ]);
    const r = await c.validators.validate("svc/a/b", { mode: "turbo", retries: 1.5 });
    expect(r.violations.map((x) => [x.rule, x.path]).sort()).toEqual([
      [0, "/mode"],
      [1, "/retries"],
    ]);
    expect((await c.validators.validate("svc/a/b", { mode: null, retries: 2 })).valid).toBe(true);
  });
});
