/** OFREP on the wire: bulk ETags and 304, the change stream, the access log, and every refusal OFREP defines. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Reason } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { accessLogApi, plan, seconds } from "../helpers/safety-clients.js";
import { SseReader } from "../helpers/sse-reader.js";

let daemon: Daemon;
let client: Client;
let c: ReturnType<typeof api>;

type Bulk = { flags: Record<string, unknown>[]; eventStreams: { type: string; endpoint: { requestUri: string } }[]; metadata: { revision: number; truncated?: boolean } };

/** POSTs to an OFREP path; `body` as JSON unless `raw` gives the bytes. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}, raw?: string) {
  const res = await fetch(`http://${daemon.http}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: raw ?? JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}
const bulk = (context: Record<string, unknown>, headers: Record<string, string> = {}, prefix = "p/") => post(`/ofrep/v1/evaluate/flags?prefix=${prefix}`, { context }, headers);

beforeAll(async () => {
  daemon = await Daemon.start();
  client = connect(daemon.address);
  c = api(client);
  await c.set({ key: "p/on", value: true });
  await c.set({ key: "p/limit", value: 10 });
  await c.set({ key: "p/split", value: "new", rollout: plan({ stable: "old", percentage: { $case: "steps", value: { start: 50, increment: 10, interval: seconds(86_400), target: 100 } } }) });
  await c.set({ key: "q/other", value: "q" });
}, 30_000);

afterAll(async () => {
  client?.close();
  await daemon?.dispose();
});

describe("OFREP bulk evaluation", () => {
  it("answers 304 to its own ETag before evaluating, and 200 with a new ETag once anything is written", async () => {
    const first = await bulk({ targetingKey: "u-1" });
    expect(first.status).toBe(200);
    const body = first.json as unknown as Bulk;
    expect(body.flags.map((f) => f.key)).toEqual(["p/limit", "p/on", "p/split"]);
    expect(body.metadata).toEqual({ revision: 4 });
    const tag = first.headers.get("etag")!;
    expect(tag).toMatch(/^"4\.[0-9a-z]+\.[\w-]{22}"$/);

    const again = await bulk({ targetingKey: "u-1" }, { "if-none-match": tag });
    expect([again.status, again.headers.get("etag"), again.json]).toEqual([304, tag, undefined]);
    // Any of several tags, weak or strong, matches.
    expect((await bulk({ targetingKey: "u-1" }, { "if-none-match": `"1.0.xxxxxxxxxxxxxxxxxxxxxx", W/${tag}` })).status).toBe(304);
    // Another unit or another prefix is another answer.
    expect((await bulk({ targetingKey: "u-2" }, { "if-none-match": tag })).status).toBe(200);
    expect((await bulk({ targetingKey: "u-1" }, { "if-none-match": tag }, "")).status).toBe(200);

    await c.set({ key: "p/limit", value: 11 });
    const changed = await bulk({ targetingKey: "u-1" }, { "if-none-match": tag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(tag);
    expect((changed.json as unknown as Bulk).flags.find((f) => f.key === "p/limit")).toMatchObject({ value: 11, metadata: { version: 2 } });
    expect((await bulk({ targetingKey: "u-1" }, { "if-none-match": changed.headers.get("etag")! })).status).toBe(304);
  });

  it("reports TARGETING_KEY_MISSING per flag, and an ETag without a time limit when nothing moves with time", async () => {
    const r = await bulk({});
    const flags = (r.json as unknown as Bulk).flags;
    expect(flags.find((f) => f.key === "p/split")).toEqual({ key: "p/split", errorCode: "TARGETING_KEY_MISSING", errorDetails: '"p/split" splits units by bucket: the context needs a targetingKey' });
    expect(flags.find((f) => f.key === "p/on")).toMatchObject({ value: true, reason: "STATIC" });
    // p/split's next step is a day away: the tag holds until then; q/ is static: no limit.
    const until = (t: string) => t.split(".")[1]!;
    expect(parseInt(until(r.headers.get("etag")!), 36)).toBeGreaterThan(Date.now() + 86_000_000);
    expect(until((await bulk({}, {}, "q/")).headers.get("etag")!)).toBe("0");
  });

  it("announces a change stream that asks for a refetch when a key under its prefix changes, and only then", async () => {
    const streams = ((await bulk({ targetingKey: "u-1" })).json as unknown as Bulk).eventStreams;
    expect(streams).toHaveLength(1);
    expect(streams[0]!.type).toBe("sse");
    const url = `http://${daemon.http}${streams[0]!.endpoint.requestUri}`;
    const sse = await SseReader.open(url);
    try {
      expect(sse.status).toBe(200);
      await c.set({ key: "q/other", value: "elsewhere" });
      const wrote = await c.set({ key: "p/on", value: false });
      const e = await sse.next((x) => x.data.includes("refetchEvaluation"));
      // The write outside the prefix sent nothing: the first event is p/on's.
      expect(e.id).toBe(String(wrote.entry!.revision));
      expect(JSON.parse(e.data)).toMatchObject({ type: "refetchEvaluation" });
    } finally {
      sse.close();
    }
    // A reconnect that missed changes is told at once.
    const behind = await SseReader.open(url, { "last-event-id": "1" });
    try {
      expect((await behind.next((x) => x.data.includes("refetchEvaluation"))).id).toBe(String((await c.get({ key: "p/on" })).header!.revision));
    } finally {
      behind.close();
    }
    expect((await fetch(`http://${daemon.http}/ofrep/v1/events?ticket=forged`)).status).toBe(401);
  });
});

describe("OFREP evaluations in the access log", () => {
  it("records a unit's or a request id's evaluations with source ofrep, and no refused one", async () => {
    const one = await post("/ofrep/v1/evaluate/flags/p/split", { context: { targetingKey: "alice-7" } }, { "x-request-id": "ofrep-req-1" });
    expect(one.status).toBe(200);
    const refused = await post("/ofrep/v1/evaluate/flags/p/split", {}, { "x-request-id": "ofrep-req-2" });
    expect(refused.json).toMatchObject({ errorCode: "TARGETING_KEY_MISSING" });
    const unitless = await post("/ofrep/v1/evaluate/flags/p/on", {}, { "x-request-id": "ofrep-req-3" });
    expect(unitless.status).toBe(200);
    await bulk({ targetingKey: "bulk-unit" });
    const log = accessLogApi(daemon.address);
    try {
      const [r1] = (await log.query({ requestId: "ofrep-req-1" })).records;
      const entry = (await c.get({ key: "p/split" })).entry!;
      const reason = (one.json.metadata as { ctmReason: string }).ctmReason === "in_rollout" ? Reason.REASON_IN_ROLLOUT : Reason.REASON_OUT_OF_ROLLOUT;
      expect(r1).toMatchObject({ requestId: "ofrep-req-1", unitId: "alice-7", key: "p/split", version: entry.version, revision: entry.revision, reason, source: "ofrep" });
      expect((await log.query({ requestId: "ofrep-req-2" })).records).toEqual([]);
      expect((await log.query({ requestId: "ofrep-req-3" })).records).toMatchObject([{ key: "p/on", unitId: "", source: "ofrep" }]);
      const bulkRecords = (await log.query({ unitId: "bulk-unit" })).records;
      expect(bulkRecords.map((r) => r.key).sort()).toEqual(["p/limit", "p/on", "p/split"]);
      expect(new Set(bulkRecords.map((r) => r.source))).toEqual(new Set(["ofrep"]));
    } finally {
      log.client.close();
    }
  });
});

describe("OFREP refusals", () => {
  it("answers bad input with OFREP's 400s and 404s, never a 5xx", async () => {
    const one = (body: unknown, raw?: string, headers: Record<string, string> = {}) => post("/ofrep/v1/evaluate/flags/p/on", body, headers, raw);
    expect((await one(undefined, "{not json")).json).toMatchObject({ key: "p/on", errorCode: "PARSE_ERROR" });
    expect((await one(undefined, "[1]")).json).toMatchObject({ errorCode: "PARSE_ERROR" });
    expect((await one(undefined, "{}", { "content-type": "text/plain" })).json).toMatchObject({ errorCode: "PARSE_ERROR" });
    expect((await one({ context: [] })).json).toMatchObject({ errorCode: "INVALID_CONTEXT" });
    expect((await one({ context: { targetingKey: 7 } })).json).toMatchObject({ errorCode: "INVALID_CONTEXT" });
    expect((await one({ context: { targetingKey: "x".repeat(1025) } })).json).toMatchObject({ errorCode: "INVALID_CONTEXT" });
    const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`a${i}`, "v"]));
    expect((await one({ context: many })).json).toMatchObject({ errorCode: "INVALID_CONTEXT", errorDetails: "context: has 129 attributes; the limit is 128" });
    const huge = await one({ context: { targetingKey: "u", note: "x".repeat(70_000) } });
    expect([huge.status, huge.json.errorCode]).toEqual([400, "INVALID_CONTEXT"]);
    // Attributes ctm rules cannot compare are left out, not refused.
    expect((await one({ context: { targetingKey: "u", nested: { a: 1 }, list: [1], none: null, n: 3, b: true } })).status).toBe(200);
    expect((await one({ context: { __proto__: "x", constructor: "y" } }, '{"context":{"__proto__":"x","constructor":"y"}}')).status).toBe(200);

    const at = (path: string) => post(path, {});
    expect((await at("/ofrep/v1/evaluate/flags/p%2Flimit")).json).toMatchObject({ key: "p/limit", value: 11 });
    expect(await at("/ofrep/v1/evaluate/flags/p/..%2Fon")).toMatchObject({ status: 404, json: { key: "p/../on", errorCode: "FLAG_NOT_FOUND" } });
    expect(await at("/ofrep/v1/evaluate/flags/has%20space")).toMatchObject({ status: 404, json: { errorCode: "FLAG_NOT_FOUND" } });
    expect(await at(`/ofrep/v1/evaluate/flags/${"k".repeat(300)}`)).toMatchObject({ status: 404, json: { errorCode: "FLAG_NOT_FOUND" } });
    expect(await at("/ofrep/v1/evaluate/flags/%E0%A4%A")).toMatchObject({ status: 400, json: { errorCode: "PARSE_ERROR" } });
    expect(await at("/ofrep/v1/evaluate/flags/")).toMatchObject({ status: 404, json: { errorCode: "FLAG_NOT_FOUND" } });
    expect((await at("/ofrep/v1/configuration")).status).toBe(404);
    expect((await post("/ofrep/v1/evaluate/flags?prefix=bad%20prefix", {})).json).toMatchObject({ errorCode: "GENERAL" });
    const get = await fetch(`http://${daemon.http}/ofrep/v1/evaluate/flags/p/on`);
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);

    const bad = ["", "null", "1", '"s"', "{", '{"context":1}', '{"context":{"environment":{}}}', "\u0000", '{"context":{"targetingKey":null}}'];
    for (const raw of bad) {
      for (const path of ["/ofrep/v1/evaluate/flags/p/on", "/ofrep/v1/evaluate/flags"]) {
        const r = await post(path, undefined, {}, raw);
        expect([raw, path, r.status < 500]).toEqual([raw, path, true]);
      }
    }
  });
});
