import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../src/gen/ctm/v1/auth_service.js";
import { AuthApi } from "../helpers/auth.js";
import { api, connect, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { SseReader } from "../helpers/sse-reader.js";
import { eventually, metricsAddress, parseExposition } from "../helpers/safety-clients.js";
import { STREAMS_PER_CLIENT } from "../../src/transport/http/event-stream.js";

let daemon: Daemon;
let client: Client;
let adminToken: string;
let devToken: string;

/** POSTs `body` to /api/<method> as `token` and resolves the status, headers and parsed answer. */
async function rpc(method: string, body: unknown, opts: { token?: string; headers?: Record<string, string>; raw?: string } = {}) {
  const res = await fetch(`http://${daemon.http}/api/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    body: opts.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0", "--http-allow-origins", "https://app.example.com", "--watch-progress-ms", "200"] });
  adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
  client = connect(daemon.address);
  const admin = new AuthApi(daemon.address, adminToken);
  await admin.setRole({ name: "web", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_WRITE], keys: ["web/**"] }] });
  devToken = await admin.createToken("web-dev", ["web"]);
  admin.close();
}, 30_000);
afterAll(async () => {
  client?.close();
  await daemon?.dispose();
});

describe("the API over HTTP: every unary method as Connect JSON, through the same chain", () => {
  it("writes and reads as the token's principal, with the same answers as gRPC", async () => {
    const set = await rpc("ctm.v1.ConfigService/Set", { key: "web/banner", value: { text: "hi", n: 1 }, message: "first" }, { token: devToken, headers: { "x-request-id": "req-42" } });
    expect(set.status).toBe(200);
    expect(set.headers.get("x-request-id")).toBe("req-42");
    expect(set.json.entry).toMatchObject({ key: "web/banner", value: { text: "hi", n: 1 }, version: "1", message: "first", principal: "token:web-dev", kind: "RECORD_KIND_SET" });
    const viaGrpc = await api(client, adminToken).get({ key: "web/banner" });
    expect(viaGrpc.entry).toMatchObject({ version: 1, principal: "token:web-dev" });
    const history = await rpc("ctm.v1.ConfigService/History", { key: "web/banner" }, { token: devToken });
    expect((history.json.entries as unknown[]).length).toBe(1);
    // One line per request, made by the log worker from its fields, as RPC lines are.
    const line = await eventually("the Set's http line", () => daemon.logs.find((l) => l.msg === "http" && l.requestId === "req-42"));
    expect(line).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: expect.any(Number),
      hostname: expect.any(String),
      component: "http",
      route: "api",
      method: "POST",
      path: "/api/ctm.v1.ConfigService/Set",
      status: 200,
      durationMs: expect.any(Number),
      requestId: "req-42",
      principal: "token:web-dev",
      msg: "http",
    });
  });

  it("answers errors with the Connect code, the HTTP status and the field at fault, and writes nothing", async () => {
    const revision = async () => ((await rpc("ctm.v1.ConfigService/Get", { key: "web/banner" }, { token: devToken })).json.header as { revision: string }).revision;
    const before = await revision();
    const missing = await rpc("ctm.v1.ConfigService/Get", { key: "web/none" }, { token: devToken });
    expect(missing).toMatchObject({ status: 404, json: { code: "not_found" } });
    const badKey = await rpc("ctm.v1.ConfigService/Set", { key: `web/${"x".repeat(2000)}`, value: 1 }, { token: devToken });
    expect(badKey).toMatchObject({ status: 400, json: { code: "invalid_argument", details: [{ field: "key" }] } });
    const unknownField = await rpc("ctm.v1.ConfigService/History", { key: "web/banner", limt: 3 }, { token: devToken });
    expect(unknownField.status).toBe(400);
    expect(unknownField.json.message).toMatch(/limt/);
    const notJson = await rpc("ctm.v1.ConfigService/Get", undefined, { token: devToken, raw: "{nope" });
    expect(notJson).toMatchObject({ status: 400, json: { code: "invalid_argument" } });
    const noMethod = await rpc("ctm.v1.ConfigService/Nope", {}, { token: devToken });
    expect(noMethod.status).toBe(404);
    const badTimeout = await rpc("ctm.v1.ConfigService/Get", { key: "web/banner" }, { token: devToken, headers: { "connect-timeout-ms": "soon" } });
    expect(badTimeout.status).toBe(400);
    const huge = await rpc("ctm.v1.ConfigService/Set", undefined, { token: devToken, raw: JSON.stringify({ key: "web/huge", value: "x".repeat(8 * 1024 * 1024) }) });
    expect(huge).toMatchObject({ status: 429, json: { code: "resource_exhausted" } });
    const plain = await fetch(`http://${daemon.http}/api/ctm.v1.ConfigService/Get`, { method: "POST", headers: { "content-type": "text/plain", authorization: `Bearer ${devToken}` }, body: "{}" });
    expect(plain.status).toBe(400);
    expect(await revision()).toBe(before);
  });

  it("authenticates with Bearer or X-API-Key and authorizes by the same roles", async () => {
    expect((await rpc("ctm.v1.ConfigService/Get", { key: "web/banner" })).json).toMatchObject({ code: "unauthenticated" });
    expect((await rpc("ctm.v1.ConfigService/Get", { key: "web/banner" }, { token: "ctm_0000000000000000_nope" })).status).toBe(401);
    const byKey = await rpc("ctm.v1.ConfigService/Get", { key: "web/banner" }, { headers: { "x-api-key": devToken } });
    expect(byKey.status).toBe(200);
    const other = await rpc("ctm.v1.ConfigService/Set", { key: "pay/fee", value: 1 }, { token: devToken });
    expect(other).toMatchObject({ status: 403, json: { code: "permission_denied" } });
    expect(String(other.json.message)).toMatch(/pay\/fee/);
    const admin = await rpc("ctm.v1.AuthService/ListTokens", {}, { token: devToken });
    expect(admin.status).toBe(403);
    const whoami = await rpc("ctm.v1.AuthService/WhoAmI", {}, { token: devToken });
    expect(whoami.json).toMatchObject({ principal: "token:web-dev" });
    // Counted per route and status, as gRPC calls are per method and code.
    const scraped = await fetch(`http://${metricsAddress(daemon)}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    const samples = parseExposition(await scraped.text());
    const count = (status: string) => samples.find((x) => x.name === "ctm_http_requests_total" && x.labels.route === "api" && x.labels.status === status)?.value ?? 0;
    expect(count("200")).toBeGreaterThan(0);
    expect(count("403")).toBeGreaterThan(0);
  });

  it("lets a listed origin call from a browser page, and no other", async () => {
    const pre = await fetch(`http://${daemon.http}/api/ctm.v1.ConfigService/Get`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(pre.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const other = await fetch(`http://${daemon.http}/api/ctm.v1.ConfigService/Get`, { method: "OPTIONS", headers: { origin: "https://evil.example.com" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the event stream: Watch as server-sent events", () => {
  it("streams changes made through gRPC and resumes after Last-Event-ID with nothing missed or repeated", async () => {
    const c = api(client, adminToken);
    const first = await c.set({ key: "web/live/a", value: 1 });
    const stream = await SseReader.open(`http://${daemon.http}/api/events?prefix=web/live/&start_revision=${first.entry!.revision}`, { authorization: `Bearer ${devToken}` });
    try {
      expect(stream.status).toBe(200);
      const created = await stream.next((e) => e.event === "created");
      expect(created.id).toBeUndefined();
      await c.set({ key: "web/live/b", value: 2 });
      const events = await stream.collectEvents(2);
      expect(events.map((e) => [e.key, e.value])).toEqual([
        ["web/live/a", 1],
        ["web/live/b", 2],
      ]);
      const lastId = stream.lastId!;
      stream.close();
      // Written while nobody listens: a resume from the last id gets it, and only it.
      await c.set({ key: "web/live/c", value: 3 });
      const again = await SseReader.open(`http://${daemon.http}/api/events?prefix=web/live/`, { authorization: `Bearer ${devToken}`, "last-event-id": lastId });
      try {
        const resumed = await again.collectEvents(1);
        expect(resumed.map((e) => [e.key, e.value])).toEqual([["web/live/c", 3]]);
        // A heartbeat carries an id too: resuming from it skips nothing that matched.
        const progress = await again.next((e) => e.event === "progress");
        expect(Number(progress.id)).toBeGreaterThanOrEqual(Number(resumed[0]!.revision));
      } finally {
        again.close();
      }
    } finally {
      stream.close();
    }
  });

  it("holds a bounded number of streams per client", async () => {
    const open = () => SseReader.open(`http://${daemon.http}/api/events?prefix=web/`, { authorization: `Bearer ${devToken}` });
    const streams = await Promise.all(Array.from({ length: STREAMS_PER_CLIENT }, open));
    try {
      expect(streams.every((s) => s.status === 200)).toBe(true);
      const more = await fetch(`http://${daemon.http}/api/events?prefix=web/`, { headers: { authorization: `Bearer ${devToken}` } });
      expect(more.status).toBe(429);
      expect(more.headers.get("retry-after")).not.toBeNull();
      // Another client is not held back by this one.
      const admin = await SseReader.open(`http://${daemon.http}/api/events?prefix=web/`, { authorization: `Bearer ${adminToken}` });
      expect(admin.status).toBe(200);
      admin.close();
    } finally {
      for (const s of streams) s.close();
    }
    // Closed streams are given back.
    await eventually("a stream slot", async () => {
      const s = await open();
      s.close();
      return s.status === 200 ? true : undefined;
    });
  });

  it("is authorized like Watch, and a bad start is refused by name", async () => {
    const denied = await fetch(`http://${daemon.http}/api/events?prefix=pay/`, { headers: { authorization: `Bearer ${devToken}` } });
    expect(denied.status).toBe(403);
    const bad = await fetch(`http://${daemon.http}/api/events?prefix=web/&start_revision=x`, { headers: { authorization: `Bearer ${devToken}` } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "invalid_argument" });
  });
});

describe("the rate limit", () => {
  it("answers 429 with Retry-After once a client spends its requests per second", async () => {
    const limited = await Daemon.start({ args: ["--http-rate-limit", "5"] });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => fetch(`http://${limited.http}/api/ctm.v1.ConfigService/Snapshot`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })),
      );
      const refused = answers.filter((r) => r.status === 429);
      expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(5);
      expect(refused.length).toBeGreaterThan(0);
      expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await refused[0]!.json()).toMatchObject({ code: "resource_exhausted" });
    } finally {
      await limited.dispose();
    }
  });
});
