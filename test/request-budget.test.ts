import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { api, connect, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";

let daemon: Daemon;
let client: Client;
let c: ReturnType<typeof api>;

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--request-budget-mib", "1"] });
  client = connect(daemon.address);
  c = api(client);
});
afterAll(async () => {
  client.close();
  await daemon.dispose();
});

describe("a client's share of requests being served", () => {
  it("past it, a call is refused RESOURCE_EXHAUSTED before its handler runs, and the share comes back as calls are answered", async () => {
    // Twelve writes of about 250 KB at once: 3 MB against a 1 MiB share.
    const big = "v".repeat(250_000);
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => c.set({ key: "budget/k", value: `${i}${big}` })));
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as grpc.ServiceError] : []));
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) {
      expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(e.details).toMatch(/bytes of requests being served; this one's \d+ more would pass its share of 1048576 \(--request-budget-mib\)/);
      expect(e.metadata.get("ctm-limit")).toEqual(["1048576"]);
    }
    // A refused write wrote nothing: the key has exactly one version per accepted write.
    expect((await c.get({ key: "budget/k" })).entry!.version).toBe(ok.length);
    // Every answered call gave its share back: the next write is served.
    const alone = await c.set({ key: "budget/k", value: "w".repeat(256 * 1024 - 2) });
    expect(alone.entry!.version).toBe(ok.length + 1);
    expect((await c.get({ key: "budget/k" })).entry!.version).toBe(ok.length + 1);
  });

  it("holds on the HTTP face too: a body past the share is 429 resource_exhausted with Retry-After, and the share comes back", async () => {
    const big = "h".repeat(250_000);
    const post = (i: number) =>
      fetch(`http://${daemon.http}/api/ctm.v1.ConfigService/Set`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: "budget/http", value: `${i}${big}` }),
      }).then(async (r) => ({ status: r.status, retry: r.headers.get("retry-after"), body: (await r.json()) as { code?: string; message?: string } }));
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i)));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect([a.status, a.retry, a.body.code]).toEqual([429, "1", "resource_exhausted"]);
      expect(a.body.message).toMatch(/would pass its share of 1048576 \(--request-budget-mib\)/);
    }
    expect((await c.get({ key: "budget/http" })).entry!.version).toBe(ok.length);
    expect((await post(99)).status).toBe(200);
  });
});
