/** OFREP past --http-rate-limit: 429 with Retry-After, in OFREP's shape, and the provider's default. */
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { ErrorCode, OpenFeature } from "@openfeature/server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, connect, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";

let daemon: Daemon;
let client: Client;

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--http-rate-limit", "1"] });
  client = connect(daemon.address);
  await api(client).set({ key: "rl/on", value: true });
}, 30_000);

afterAll(async () => {
  await OpenFeature.clearProviders();
  client?.close();
  await daemon?.dispose();
});

/** Sends `path` until one is refused (one request a second is allowed), and answers the refusal. */
async function untilRefused(path: string): Promise<Response> {
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`http://${daemon.http}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    if (res.status === 429) return res;
    expect(res.status).toBe(200);
  }
  throw new Error("50 back-to-back requests were never refused");
}

describe("OFREP under --http-rate-limit", () => {
  it("answers 429 with Retry-After to single and bulk evaluations past the rate", async () => {
    for (const path of ["/ofrep/v1/evaluate/flags/rl/on", "/ofrep/v1/evaluate/flags"]) {
      const refused = await untilRefused(path);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const body = (await refused.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ errorCode: "GENERAL" });
      expect(body.errorDetails).toMatch(/^more than the configured --http-rate-limit requests per second/);
    }
  });

  it("makes the OFREP provider serve the default when refused", async () => {
    await OpenFeature.setProviderAndWait("rate-limited", new OFREPProvider({ baseUrl: `http://${daemon.http}` }));
    const of = OpenFeature.getClient("rate-limited");
    let refused = false;
    for (let i = 0; i < 50 && !refused; i++) {
      const d = await of.getBooleanDetails("rl/on", false, { targetingKey: "u" });
      if (d.errorCode !== undefined) {
        expect([d.value, d.errorCode]).toEqual([false, ErrorCode.GENERAL]);
        refused = true;
      } else expect(d.value).toBe(true);
    }
    expect(refused).toBe(true);
  });
});
