/** OFREP through the real OpenFeature server SDK and OFREP provider, against a daemon with auth on. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { ErrorCode, OpenFeature, StandardResolutionReasons as R, type Client as OfClient } from "@openfeature/server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../src/gen/ctm/v1/auth_service.js";
import { AttributeOperator } from "../../src/gen/ctm/v1/rollout.js";
import { fromPbReason } from "../../src/transport/grpc/rollout-mapper.js";
import { AuthApi } from "../helpers/auth.js";
import { api, connect, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { until } from "../helpers/until.js";
import { plan, seconds } from "../helpers/safety-clients.js";

let daemon: Daemon;
let client: Client;
let admin: ReturnType<typeof api>;
let readerToken: string;
let outsiderToken: string;
let of: OfClient;
let auth: AuthApi;

/** An OpenFeature client on its own domain, through OFREPProvider with `headers`. */
async function ofrepClient(name: string, headers: [string, string][]): Promise<OfClient> {
  await OpenFeature.setProviderAndWait(name, new OFREPProvider({ baseUrl: `http://${daemon.http}`, headers }));
  return OpenFeature.getClient(name);
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`http://${daemon.http}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0"] });
  const adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
  client = connect(daemon.address);
  admin = api(client, adminToken);
  auth = new AuthApi(daemon.address, adminToken);
  await auth.setRole({ name: "of-reader", grants: [{ verbs: [Verb.VERB_READ], keys: ["of/**"] }] });
  await auth.setRole({ name: "outsider", grants: [{ verbs: [Verb.VERB_READ], keys: ["elsewhere/**"] }] });
  readerToken = await auth.createToken("of-reader", ["of-reader"]);
  outsiderToken = await auth.createToken("outsider", ["outsider"]);
  await admin.set({ key: "of/bool", value: true });
  await admin.set({ key: "of/text", value: "hello" });
  await admin.set({ key: "of/num", value: 42.5 });
  await admin.set({ key: "of/obj", value: { rps: 100, burst: [1, 2] } });
  await admin.set({ key: "of/gone", value: 1 });
  await admin.delete({ key: "of/gone" });
  await admin.set({ key: "elsewhere/flag", value: "no" });
  await admin.set({ key: "of/ringed", value: "new", rollout: plan({ stable: "old", rings: { order: ["dev", "prod"], interval: undefined } }) });
  await admin.set({
    key: "of/rolling",
    value: "new",
    rollout: plan({
      stable: "old",
      earlyAdopters: ["alice"],
      rules: [{ rule: { $case: "attribute", value: { attribute: "country", operator: AttributeOperator.ATTRIBUTE_OPERATOR_EQUALS, values: ["NZ"] } } }],
      percentage: { $case: "steps", value: { start: 50, increment: 10, interval: seconds(86_400), target: 100 } },
      variants: [
        { name: "a", weight: 1, value: "new-a" },
        { name: "b", weight: 1, value: "new-b" },
      ],
    }),
  });
  of = await ofrepClient("ofrep-reader", [["Authorization", `Bearer ${readerToken}`]]);
}, 60_000);

afterAll(async () => {
  await OpenFeature.clearProviders();
  auth?.close();
  client?.close();
  await daemon?.dispose();
});

describe("OFREP with the OpenFeature server provider", () => {
  it("evaluates boolean, string, number and object flags, with ctm's reason, version and revision as metadata", async () => {
    const b = await of.getBooleanDetails("of/bool", false, { targetingKey: "u-1" });
    const entry = (await admin.get({ key: "of/bool" })).entry!;
    expect(b).toMatchObject({ value: true, reason: R.STATIC, flagMetadata: { ctmReason: "static", version: entry.version, revision: entry.revision } });
    expect(b.variant).toBeUndefined();
    expect(await of.getStringDetails("of/text", "", { targetingKey: "u-1" })).toMatchObject({ value: "hello", reason: R.STATIC });
    expect(await of.getNumberDetails("of/num", 0, { targetingKey: "u-1" })).toMatchObject({ value: 42.5, reason: R.STATIC });
    expect(await of.getObjectDetails("of/obj", {}, { targetingKey: "u-1" })).toMatchObject({ value: { rps: 100, burst: [1, 2] }, reason: R.STATIC });
    // X-API-Key is the other way OFREP clients send a token.
    const byKey = await ofrepClient("ofrep-api-key", [["X-API-Key", readerToken]]);
    expect(await byKey.getStringValue("of/text", "", { targetingKey: "u-1" })).toBe("hello");
  });

  it("gives every unit of a rolling key exactly what gRPC Get with the same context gives it", async () => {
    const reasons = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const unit = `user-${i}`;
      const d = await of.getStringDetails("of/rolling", "default", { targetingKey: unit, environment: "prod", country: "DE" });
      const g = await admin.get({ key: "of/rolling", context: { unitId: unit, environment: "prod", attributes: { country: "DE" }, requestId: "" } });
      expect([unit, d.value, d.variant, d.flagMetadata.ctmReason]).toEqual([unit, g.value, g.variant, fromPbReason(g.reason)]);
      expect(d.reason).toBe(R.SPLIT);
      reasons.add(String(d.flagMetadata.ctmReason));
    }
    expect([...reasons].sort()).toEqual(["out_of_rollout", "variant"]);
    // Attributes reach the rules; a targeted unit is TARGETING_MATCH.
    expect(await of.getStringDetails("of/rolling", "default", { targetingKey: "kiwi", country: "NZ" })).toMatchObject({ reason: R.TARGETING_MATCH, flagMetadata: { ctmReason: "rule_match" } });
    expect(await of.getStringDetails("of/rolling", "default", { targetingKey: "alice" })).toMatchObject({ reason: R.TARGETING_MATCH, flagMetadata: { ctmReason: "early_adopter" } });
  });

  it("answers FLAG_NOT_FOUND for a missing or deleted key, TYPE_MISMATCH for another type, TARGETING_KEY_MISSING for a split without a unit", async () => {
    expect(await of.getBooleanDetails("of/missing", true, { targetingKey: "u" })).toMatchObject({ value: true, reason: R.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(await of.getNumberDetails("of/gone", 7, { targetingKey: "u" })).toMatchObject({ value: 7, reason: R.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(await of.getNumberDetails("of/text", 7, { targetingKey: "u" })).toMatchObject({ value: 7, reason: R.ERROR, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await of.getBooleanDetails("of/num", false, { targetingKey: "u" })).toMatchObject({ value: false, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await of.getStringDetails("of/rolling", "default", {})).toMatchObject({ value: "default", reason: R.ERROR, errorCode: ErrorCode.TARGETING_KEY_MISSING });
    // Variants are picked by bucket, for targeted units too.
    expect(await of.getStringDetails("of/rolling", "default", { country: "NZ" })).toMatchObject({ errorCode: ErrorCode.TARGETING_KEY_MISSING });
    // A static flag needs no unit, nor does a rollout by rings alone (everyone in a ring gets the same).
    expect(await of.getBooleanValue("of/bool", false, {})).toBe(true);
    expect(await of.getStringDetails("of/ringed", "default", { environment: "dev" })).toMatchObject({ value: "new", reason: R.SPLIT, flagMetadata: { ctmReason: "in_rollout" } });
    expect(await of.getStringDetails("of/ringed", "default", { environment: "prod" })).toMatchObject({ value: "old", reason: R.DEFAULT, flagMetadata: { ctmReason: "ring_not_reached" } });
    const raw = await post("/ofrep/v1/evaluate/flags/of/gone", {}, { authorization: `Bearer ${readerToken}` });
    expect([raw.status, await raw.json()]).toEqual([404, { key: "of/gone", errorCode: "FLAG_NOT_FOUND", errorDetails: 'key "of/gone" does not exist' }]);
  });

  it("refuses a missing or unknown token with 401 and a key outside the token's grants with 403", async () => {
    const none = await post("/ofrep/v1/evaluate/flags/of/bool", {});
    expect([none.status, ((await none.json()) as { errorCode: string }).errorCode]).toEqual([401, "GENERAL"]);
    const unknown = await post("/ofrep/v1/evaluate/flags/of/bool", {}, { authorization: "Bearer ctm_nope_nope" });
    expect(unknown.status).toBe(401);
    const outside = await post("/ofrep/v1/evaluate/flags/of/bool", {}, { authorization: `Bearer ${outsiderToken}` });
    expect(outside.status).toBe(403);
    expect(((await outside.json()) as { errorDetails: string }).errorDetails).toBe('token:outsider may not read key "of/bool"');
    // A missing key outside the grants is refused, not reported missing: as gRPC Get does.
    expect((await post("/ofrep/v1/evaluate/flags/of/missing", {}, { authorization: `Bearer ${outsiderToken}` })).status).toBe(403);
    // The provider reports both as errors and serves the default.
    const anonymous = await ofrepClient("ofrep-anonymous", []);
    expect(await anonymous.getBooleanDetails("of/bool", false, { targetingKey: "u" })).toMatchObject({ value: false, reason: R.ERROR });
    const outsider = await ofrepClient("ofrep-outsider", [["Authorization", `Bearer ${outsiderToken}`]]);
    expect(await outsider.getBooleanDetails("of/bool", false, { targetingKey: "u" })).toMatchObject({ value: false, reason: R.ERROR });
  });

  it("bulk evaluates only what the token may read, never the reserved _ctm/ documents", async () => {
    const keysFor = async (token: string): Promise<string[]> => {
      const res = await post("/ofrep/v1/evaluate/flags", { context: { targetingKey: "u-1" } }, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(200);
      return ((await res.json()) as { flags: { key: string }[] }).flags.map((f) => f.key);
    };
    expect(await keysFor(readerToken)).toEqual(["of/bool", "of/num", "of/obj", "of/ringed", "of/rolling", "of/text"]);
    expect(await keysFor(outsiderToken)).toEqual(["elsewhere/flag"]);
    const adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
    const all = await keysFor(adminToken);
    expect(all).toEqual(["elsewhere/flag", "of/bool", "of/num", "of/obj", "of/ringed", "of/rolling", "of/text"]);
  });
});

/** Reads a server-sent event stream to its end, collecting the ids of its refetch events. */
async function readStream(res: Response, ids: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    for (let end = text.indexOf("\n\n"); end >= 0; end = text.indexOf("\n\n")) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      if (id !== undefined && block.includes("refetchEvaluation")) ids.push(id);
    }
  }
}

describe("OFREP change notifications under auth", () => {
  it("tell a stream only of keys its token may read, and end it once the token is revoked", async () => {
    const token = await auth.createToken("of-stream", ["of-reader"]);
    const bulk = await post("/ofrep/v1/evaluate/flags", { context: { targetingKey: "u" } }, { authorization: `Bearer ${token}` });
    const uri = ((await bulk.json()) as { eventStreams: { endpoint: { requestUri: string } }[] }).eventStreams[0]!.endpoint.requestUri;
    // The stream's URL carries a ticket, never the token: an EventSource sends no headers.
    expect(uri).not.toContain(token);
    const stream = await fetch(`http://${daemon.http}${uri}`);
    expect(stream.status).toBe(200);
    const ids: string[] = [];
    const ended = readStream(stream, ids);
    await admin.set({ key: "elsewhere/flag", value: "still no" });
    const readable = await admin.set({ key: "of/text", value: "hello again" });
    await until("the refetch event arrives", async () => ids.length > 0);
    expect(ids).toEqual([String(readable.entry!.revision)]);

    await auth.revokeToken("of-stream");
    await admin.set({ key: "of/text", value: "hello" });
    await ended;
    expect(ids).toEqual([String(readable.entry!.revision)]);
    // The ticket is no use without its token.
    expect((await fetch(`http://${daemon.http}${uri}`)).status).toBe(401);
  });
});
