import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { api, rejects, connect, headRevision, rolloutApi, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";
import { accessLogApi, plan } from "./helpers/safety-clients.js";
import { GetRequest, SetRequest } from "../src/gen/ctm/v1/config_service.js";
import { LIMITS } from "../src/domain/limits.js";
import { decodeMessage, encodeMessage, withProtoMember } from "./fuzz/proto-es.js";
import { RawClient, type RawAnswer } from "./fuzz/raw-client.js";

let daemon: Daemon;
let client: Client;
let c: ReturnType<typeof api>;
let seededAt: Date;

beforeAll(async () => {
  daemon = await Daemon.start();
  client = connect(daemon.address);
  c = api(client);
  await new Promise((r) => setTimeout(r, 20));
  seededAt = new Date();
  await c.set({ key: "k", value: 1 });
  await c.set({ key: "k", value: 2 });
});
afterAll(async () => {
  client.close();
  await daemon.dispose();
});

const big = "x".repeat(256 * 1024);
const cases: [string, () => Promise<unknown>, grpc.status, RegExp][] = [
  ["empty key", () => c.set({ key: "", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: must not be empty/],
  ["over-long key", () => c.set({ key: "a".repeat(257), value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: must be at most 256 bytes/],
  ["key with a space", () => c.set({ key: "a b", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: may hold only/],
  ["key with a NUL", () => c.set({ key: "a\0b", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: may hold only/],
  ["key starting with /", () => c.set({ key: "/etc", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: /],
  ["missing value", () => c.set({ key: "k2" }), grpc.status.INVALID_ARGUMENT, /^value: is required/],
  ["value over 256 KiB", () => c.set({ key: "k2", value: big }), grpc.status.INVALID_ARGUMENT, /^value: is (at least )?\d+ bytes as JSON; the limit is 262144/],
  ["over-long author", () => c.set({ key: "k2", value: 1, author: "a".repeat(300) }), grpc.status.INVALID_ARGUMENT, /^author: /],
  ["expected_version mismatch", () => c.set({ key: "k", value: 3, expectedVersion: 1 }), grpc.status.ABORTED, /expected_version 1 does not match the current version 2/],
  ["create-only on an existing key", () => c.set({ key: "k", value: 3, expectedVersion: 0 }), grpc.status.ABORTED, /current version 2/],
  ["delete with a stale version", () => c.delete({ key: "k", expectedVersion: 1 }), grpc.status.ABORTED, /expected_version/],
  ["delete of an unknown key", () => c.delete({ key: "nope" }), grpc.status.NOT_FOUND, /"nope" does not exist/],
  ["rollback to an unknown version", () => c.rollback({ key: "k", toVersion: 9 }), grpc.status.INVALID_ARGUMENT, /^to_version: must be older than the current version 2/],
  ["rollback of an unknown key", () => c.rollback({ key: "nope" }), grpc.status.NOT_FOUND, /does not exist/],
  ["rollback with a stale version", () => c.rollback({ key: "k", expectedVersion: 1 }), grpc.status.ABORTED, /expected_version/],
  ["diff to an unknown version", () => c.diff({ key: "k", toVersion: 9 }), grpc.status.NOT_FOUND, /^to_version: version 9 of "k" does not exist \(the latest is 2\)/],
  ["diff from an unknown version", () => c.diff({ key: "k", fromVersion: 5, toVersion: 2 }), grpc.status.NOT_FOUND, /^from_version: version 5/],
  ["history with a forged page token", () => c.history({ key: "k", pageToken: "garbage" }), grpc.status.INVALID_ARGUMENT, /^page_token: /],
  ["GetAt a time before the first record", () => c.getAt({ key: "k", at: { $case: "time", value: new Date(seededAt.getTime() - 60_000) } }), grpc.status.OUT_OF_RANGE, /^at\.time: .* is before the first record/],
  ["GetAt a future time", () => c.getAt({ key: "k", at: { $case: "time", value: new Date(Date.now() + 3_600_000) } }), grpc.status.OUT_OF_RANGE, /^at\.time: .* is in the future/],
  ["GetAt a future revision", () => c.getAt({ key: "k", at: { $case: "revision", value: 1_000_000 } }), grpc.status.OUT_OF_RANGE, /^at\.revision: revision 1000000 is ahead of the head revision \d+/],
  ["GetAt with no point in time", () => c.getAt({ key: "k" }), grpc.status.INVALID_ARGUMENT, /^at: a time or a revision is required/],
  ["Snapshot at a future revision", () => c.snapshot({ prefix: "", at: { $case: "revision", value: 1_000_000 } }), grpc.status.OUT_OF_RANGE, /ahead of the head revision/],
  ["RollbackPrefix to before the first record", () => c.rollbackPrefix({ prefix: "", to: { $case: "time", value: new Date(0) } }), grpc.status.OUT_OF_RANGE, /^to\.time: .* before the first record/],
  ["Apply with no operations", () => c.apply({ operations: [] }), grpc.status.INVALID_ARGUMENT, /^operations: must hold at least one/],
  ["Apply with a bad key in op 2", () => c.apply({ operations: [{ operation: { $case: "set", value: { key: "ok", value: 1 } } }, { operation: { $case: "set", value: { key: "", value: 1 } } }] }), grpc.status.INVALID_ARGUMENT, /^operations\[1\]\.set\.key: must not be empty/],
  ["Get of an unknown key", () => c.get({ key: "missing" }), grpc.status.NOT_FOUND, /"missing" does not exist/],
];

describe("bad input gets a clear status and writes nothing", () => {
  it.each(cases)("%s", async (_name, run, code, message) => {
    const before = await headRevision(client);
    const err = await rejects(run());
    expect(grpc.status[err.code]).toBe(grpc.status[code]);
    expect(err.details).toMatch(message);
    expect(await headRevision(client)).toBe(before);
  });

  it("INVALID_ARGUMENT names the field in the ctm-field trailer", async () => {
    const err = await rejects(c.set({ key: "", value: 1 }));
    expect(err.metadata.get("ctm-field")).toEqual(["key"]);
  });
});

describe("hostile bytes and edge values: a clear status naming the field, never INTERNAL, nothing written", () => {
  let raw: RawClient;
  beforeAll(() => {
    raw = new RawClient(daemon.address);
  });
  afterAll(() => raw.close());

  const withId = (id: string): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set("x-request-id", id);
    return md;
  };
  /** Sends the bytes to `path` and expects the refusal, with the head revision unmoved. */
  async function refused(path: string, bytes: Uint8Array, field: string, details?: RegExp): Promise<RawAnswer> {
    const before = await headRevision(client);
    const a = path.endsWith("/Watch") ? await raw.firstOfStream(path, bytes) : await raw.unary(path, bytes);
    expect(grpc.status[a.code]).toBe("INVALID_ARGUMENT");
    expect(a.metadata.get("ctm-field")).toEqual([field]);
    if (details) expect(a.details).toMatch(details);
    expect(await headRevision(client)).toBe(before);
    return a;
  }
  const val = (v: unknown) => ({ kind: { case: typeof v === "number" ? "numberValue" : "stringValue", value: v } });

  it("malformed protobuf bytes: INVALID_ARGUMENT carrying the request id, on every service", async () => {
    const set = SetRequest.encode(SetRequest.fromPartial({ key: "k", value: "a value to cut short" })).finish();
    const samples: [string, Uint8Array][] = [
      ["/ctm.v1.ConfigService/Set", set.subarray(0, set.length - 3)],
      ["/ctm.v1.ConfigService/Get", Buffer.from([10, 50, 0x6b])],
      ["/ctm.v1.ConfigService/Apply", Buffer.from([0xff, 0xff, 0xff])],
      ["/ctm.v1.RolloutService/Status", Buffer.from([0x0f])],
      ["/ctm.v1.ValidatorService/SetValidator", Buffer.from([0x0a, 0x05, 0x0a])],
      ["/ctm.v1.HealthCheckService/ReportMetrics", Buffer.from([0x00])],
      ["/ctm.v1.AccessLogService/UploadAccessLog", Buffer.from([0x0a, 0x80])],
      ["/grpc.health.v1.Health/Check", Buffer.from([0x0a, 0x09, 0x41])],
    ];
    for (const [i, [path, bytes]] of samples.entries()) {
      const before = await headRevision(client);
      const a = await raw.unary(path, bytes, withId(`bad-bytes-${i}`));
      expect(`${path} ${grpc.status[a.code]}`).toBe(`${path} INVALID_ARGUMENT`);
      expect(a.details).toMatch(new RegExp(`^request: is not a valid .* message \\(.*\\); request id bad-bytes-${i}$`));
      expect(a.metadata.get("ctm-request-id")).toEqual([`bad-bytes-${i}`]);
      expect(await headRevision(client)).toBe(before);
    }
    const watch = await raw.firstOfStream("/ctm.v1.ConfigService/Watch", Buffer.from([0x18, 0xff]), withId("bad-watch"));
    expect(grpc.status[watch.code]).toBe("INVALID_ARGUMENT");
    expect(watch.details).toMatch(/request id bad-watch$/);
  });

  it("a refusal quoting a huge name arrives cut short instead of hanging the call", async () => {
    const a = await raw.unary("/ctm.v1.ValidatorService/DeleteValidator", encodeMessage("ctm.v1.DeleteValidatorRequest", { name: "y".repeat(300_000) }), undefined, 10_000);
    expect(grpc.status[a.code]).toBe("NOT_FOUND");
    expect(a.details).toMatch(/\.\.\. \(\d+ more characters\)$/);
    expect(a.details.length).toBeLessThan(1100);
    const health = await raw.unary("/grpc.health.v1.Health/Check", encodeMessage("grpc.health.v1.HealthCheckRequest", { service: "y".repeat(300_000) }), undefined, 10_000);
    expect(grpc.status[health.code]).toBe("NOT_FOUND");
    expect(health.details.length).toBeLessThan(1100);
  });

  it("a uint64 at or above 2^53 is refused naming the field", async () => {
    const big = 2n ** 53n;
    await refused("/ctm.v1.ConfigService/Set", encodeMessage("ctm.v1.SetRequest", { key: "k", value: val(3), expectedVersion: big }), "expected_version", /must be below 2\^53/);
    await refused("/ctm.v1.ConfigService/GetAt", encodeMessage("ctm.v1.GetAtRequest", { key: "k", at: { case: "revision", value: 2n ** 64n - 1n } }), "revision");
    await refused("/ctm.v1.ConfigService/Diff", encodeMessage("ctm.v1.DiffRequest", { key: "k", toVersion: big }), "to_version");
    await refused("/ctm.v1.ConfigService/Watch", encodeMessage("ctm.v1.WatchRequest", { key: "k", startRevision: big }), "start_revision");
    await refused("/ctm.v1.HealthCheckService/ReportMetrics", encodeMessage("ctm.v1.ReportMetricsRequest", { samples: [{ key: "k", requests: big }] }), "samples[0].requests");
    await refused("/ctm.v1.AccessLogService/UploadAccessLog", encodeMessage("ctm.v1.UploadAccessLogRequest", { records: [{ key: "k", requestId: "r", revision: big }] }), "records[0].revision");
    await refused("/ctm.v1.ConfigService/Set", encodeMessage("ctm.v1.SetRequest", { key: "k", value: val(3), rollout: { activateAt: { seconds: 2n ** 62n } } }), "rollout.activate_at");
  });

  it(`values nest at most ${LIMITS.valueDepth} deep, and what is accepted every client reads back`, async () => {
    const nested = (d: number): unknown => (d === 0 ? "leaf" : { a: nested(d - 1) });
    const arrays = (d: number): unknown => (d === 0 ? 1 : [arrays(d - 1)]);
    // The deepest answer: a variant's value inside the Entry's rollout plan.
    await c.set({ key: "deep", value: nested(LIMITS.valueDepth), rollout: plan({ stable: arrays(LIMITS.valueDepth), variants: [{ name: "v", weight: 1, value: nested(LIMITS.valueDepth) }] }) });
    const got = await c.get({ key: "deep" }); // ts-proto decodes the answer
    expect(got.entry?.value).toEqual(nested(LIMITS.valueDepth));
    const bytes = await raw.unary("/ctm.v1.ConfigService/Get", GetRequest.encode(GetRequest.fromPartial({ key: "deep" })).finish());
    expect(grpc.status[bytes.code]).toBe("OK");
    expect(decodeMessage("ctm.v1.GetResponse", bytes.response!)).toHaveProperty("entry"); // protobuf-es decodes it too
    for (const deep of [nested(LIMITS.valueDepth + 1), nested(33), arrays(50), arrays(LIMITS.valueDepth + 1)]) {
      await refused("/ctm.v1.ConfigService/Set", SetRequest.encode(SetRequest.fromPartial({ key: "deep", value: deep })).finish(), "value", /must not nest objects and arrays more than \d+ deep/);
    }
    const variant = SetRequest.encode(SetRequest.fromPartial({ key: "deep", value: 1, rollout: plan({ variants: [{ name: "v", weight: 1, value: arrays(49) }] }) })).finish();
    await refused("/ctm.v1.ConfigService/Set", variant, "rollout.variants[0].value");
  });

  it("QueryAccessLog with a time before 1970 is refused naming the field", async () => {
    const a = accessLogApi(daemon.address);
    try {
      const before = await rejects(a.query({ key: "k", startTime: new Date(-1000) }));
      expect(grpc.status[before.code]).toBe("INVALID_ARGUMENT");
      expect(before.metadata.get("ctm-field")).toEqual(["start_time"]);
      expect((await rejects(a.query({ key: "k", endTime: new Date(-86_400_000) }))).metadata.get("ctm-field")).toEqual(["end_time"]);
    } finally {
      a.client.close();
    }
  });

  it("times outside years 0001-9999 are refused, sent or computed", async () => {
    const year = (y: number): bigint => BigInt(Math.floor(Date.UTC(2000, 0, 1) / 1000)) + BigInt(y - 2000) * 31_556_952n;
    const set = (rollout: object) => encodeMessage("ctm.v1.SetRequest", { key: "k", value: val(5), rollout: { allowPastStart: true, ...rollout } });
    await refused("/ctm.v1.ConfigService/Set", set({ activateAt: { seconds: year(10_000) } }), "rollout.activate_at", /0001-01-01 to 9999-12-31/);
    await refused("/ctm.v1.ConfigService/Set", set({ activateAt: { seconds: year(0) } }), "rollout.activate_at");
    const lateStart = { seconds: BigInt(Date.UTC(9999, 5, 1) / 1000) };
    const ramp = { case: "ramp", value: { from: 0, to: 100, startTime: lateStart, duration: { seconds: 400n * 86_400n } } };
    await refused("/ctm.v1.ConfigService/Set", set({ percentage: ramp }), "rollout.ramp.duration", /ends the ramp outside 0001-01-01 to 9999-12-31/);
    const fromNow = { case: "ramp", value: { from: 0, to: 100, duration: { seconds: 315_000_000_000n } } };
    await refused("/ctm.v1.ConfigService/Set", set({ percentage: fromNow }), "rollout.ramp.duration");
    const steps = { case: "steps", value: { start: 1, increment: 1, target: 100, interval: { seconds: 200n * 31_556_952n } } };
    await refused("/ctm.v1.ConfigService/Set", set({ percentage: steps }), "rollout.steps.interval");
    const report = encodeMessage("ctm.v1.ReportMetricsRequest", { samples: [{ key: "k", requests: 1n, time: { seconds: year(10_001) } }] });
    await refused("/ctm.v1.HealthCheckService/ReportMetrics", report, "samples[0].time");
  });

  it('a "__proto__" member is refused, never acknowledged and dropped', async () => {
    const member = { kind: { case: "structValue", value: { fields: withProtoMember(val(1)) } } };
    await refused("/ctm.v1.ConfigService/Set", encodeMessage("ctm.v1.SetRequest", { key: "k", value: member }), "value", /"__proto__" \(at \/__proto__\)/);
    const inList = { kind: { case: "listValue", value: { values: [val(1), member] } } };
    await refused("/ctm.v1.ConfigService/Set", encodeMessage("ctm.v1.SetRequest", { key: "k", value: inList }), "value", /at \/1\/__proto__/);
  });

  it("enum numbers the API does not define are refused naming the field", async () => {
    await refused("/ctm.v1.RolloutService/Promote", encodeMessage("ctm.v1.PromoteRequest", { key: "k", target: 7 }), "target", /7 is not a value of ctm.v1.PromoteTarget/);
    const rule = { rules: [{ rule: { case: "attribute", value: { attribute: "plan", operator: 99, values: ["x"] } } }] };
    await refused("/ctm.v1.ConfigService/Set", encodeMessage("ctm.v1.SetRequest", { key: "k", value: val(1), rollout: rule }), "rollout.rules[0].attribute.operator");
    const validator = { validator: { name: "v", keys: ["k"], rules: [{ rule: { case: "type", value: 42 } }] } };
    await refused("/ctm.v1.ValidatorService/SetValidator", encodeMessage("ctm.v1.SetValidatorRequest", validator), "validator.rules[0].type");
    await refused("/ctm.v1.AccessLogService/UploadAccessLog", encodeMessage("ctm.v1.UploadAccessLogRequest", { records: [{ key: "k", requestId: "r", reason: 77 }] }), "records[0].reason");
  });

  it("an evaluation context past its limits is refused naming the part, on Get, GetAt and Explain, and logs nothing", async () => {
    const ctx = (o: Partial<{ unitId: string; environment: string; attributes: Record<string, string>; requestId: string }>) => ({ unitId: "", environment: "", attributes: {}, requestId: "", ...o });
    const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`a${i}`, "v"]));
    const over: [ReturnType<typeof ctx>, string][] = [
      [ctx({ unitId: "u".repeat(1025), requestId: "ctx-too-long-unit" }), "context.unit_id"],
      [ctx({ requestId: "r".repeat(1025) }), "context.request_id"],
      [ctx({ environment: "e".repeat(257) }), "context.environment"],
      [ctx({ attributes: many, requestId: "ctx-too-many" }), "context.attributes"],
      [ctx({ attributes: { ["n".repeat(257)]: "v" } }), "context.attributes"],
      [ctx({ attributes: { plan: "p".repeat(4097) }, requestId: "ctx-too-long-value" }), "context.attributes"],
      // A name no header may carry: it stays in the message, never in a trailer.
      [ctx({ attributes: { "\u{e3c5c}\n": "p".repeat(4097) } }), "context.attributes"],
    ];
    const rollouts = rolloutApi(daemon.address);
    try {
      for (const [context, field] of over) {
        for (const call of [() => c.get({ key: "k", context }), () => c.getAt({ key: "k", at: { $case: "revision", value: 1 }, context }), () => rollouts.explain({ key: "k", context })]) {
          const err = await rejects(call());
          expect([grpc.status[err.code], err.metadata.get("ctm-field")]).toEqual(["INVALID_ARGUMENT", [field]]);
        }
      }
      // Exactly at the limits is served.
      const edge = ctx({ unitId: "u".repeat(1024), environment: "e".repeat(256), attributes: Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`a${i}`.padEnd(256, "x"), "v".repeat(4096)])), requestId: "ctx-at-the-limits" });
      expect((await c.get({ key: "k", context: edge })).entry!.value).toBe(2);
      const a = accessLogApi(daemon.address);
      try {
        expect((await a.query({ requestId: "ctx-at-the-limits" })).records).toHaveLength(1);
        for (const requestId of ["ctx-too-long-unit", "ctx-too-many", "ctx-too-long-value"]) expect((await a.query({ requestId })).records).toEqual([]);
      } finally {
        a.client.close();
      }
    } finally {
      rollouts.client.close();
    }
  });

  it("an upload with a record before 1970, or claiming the source ctmd, is refused whole and poisons no one's batch", async () => {
    const a = accessLogApi(daemon.address);
    try {
      const good = { time: new Date(), requestId: "upload-good", key: "k", source: "sdk" };
      const old = await rejects(a.upload({ records: [good, { time: new Date(-1000), requestId: "upload-1969", key: "k" }] }));
      expect(grpc.status[old.code]).toBe("INVALID_ARGUMENT");
      expect(old.metadata.get("ctm-field")).toEqual(["records[1].time"]);
      const claim = await rejects(a.upload({ records: [{ ...good, requestId: "upload-claim", source: "ctmd" }] }));
      expect(claim.metadata.get("ctm-field")).toEqual(["records[0].source"]);
      // Another client's Get, served after the refusals, is logged and queryable: no batch failed.
      await c.get({ key: "k", context: { unitId: "", environment: "", attributes: {}, requestId: "neighbour-get" } });
      expect((await a.query({ requestId: "neighbour-get" })).records.map((r) => r.source)).toEqual(["ctmd"]);
      expect((await a.query({ requestId: "upload-good" })).records).toEqual([]);
      expect((await a.query({ requestId: "upload-claim" })).records).toEqual([]);
    } finally {
      a.client.close();
    }
  });
});
