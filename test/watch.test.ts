import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { WatchRequest, WatchStatus } from "../src/gen/ctm/v1/config_service.js";
import { Verb } from "../src/gen/ctm/v1/auth_service.js";
import { AuthApi, bearer } from "./helpers/auth.js";
import { api, connect, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";
import { WatchStream } from "./helpers/watch-stream.js";
import { until } from "./helpers/until.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup(args: string[] = []): Promise<{ daemon: Daemon; client: Client; c: ReturnType<typeof api> }> {
  const daemon = await Daemon.start({ args });
  const client = connect(daemon.address);
  cleanups.push(() => daemon.dispose(), () => client.close());
  return { daemon, client, c: api(client) };
}

describe("Watch", () => {
  it("sends CREATED, then events of the key in revision order", async () => {
    const { client, c } = await setup();
    await c.set({ key: "other", value: 0 });
    const w = new WatchStream(client, { key: "flag" });
    cleanups.push(() => w.cancel());
    await w.until(() => w.responses.length >= 1);
    expect(w.responses[0]!.status).toBe(WatchStatus.WATCH_STATUS_CREATED);
    for (let i = 1; i <= 20; i++) {
      await c.set({ key: "flag", value: i });
      await c.set({ key: "other", value: i });
    }
    await c.delete({ key: "flag" });
    await w.until(() => w.events.length === 21);
    expect(w.events.slice(0, 20).map((e) => e.value)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(w.events[20]!.deleted).toBe(true);
    const revs = w.events.map((e) => e.revision);
    expect([...revs].sort((a, b) => a - b)).toEqual(revs);
    expect(w.events.every((e) => e.key === "flag")).toBe(true);
  });

  it("prefix watches see every key under the prefix, and replays from a past revision", async () => {
    const { client, c } = await setup();
    const first = await c.set({ key: "app/a", value: 1 });
    await c.set({ key: "zzz", value: 1 });
    await c.set({ key: "app/b", value: 2 });
    const w = new WatchStream(client, { key: "app/", prefix: true, startRevision: first.entry!.revision });
    cleanups.push(() => w.cancel());
    await c.set({ key: "app/c", value: 3 });
    await w.until(() => w.events.length === 3);
    expect(w.events.map((e) => e.key)).toEqual(["app/a", "app/b", "app/c"]);
  });

  it("resumes from last seen + 1 with no gap and no duplicate, across a daemon restart", async () => {
    const { daemon, c } = await setup();
    let client = connect(daemon.address);
    cleanups.push(() => client.close());
    const seen: number[] = [];
    const writes: number[] = [];
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) writes.push((await c.set({ key: "res", value: writes.length })).entry!.revision);
    };

    await write(5);
    let w = new WatchStream(client, { key: "res", startRevision: 1 });
    await w.until(() => w.events.length === 5);
    seen.push(...w.events.map((e) => e.revision));
    w.cancel();

    await write(5); // missed while disconnected
    w = new WatchStream(client, { key: "res", startRevision: seen[seen.length - 1]! + 1 });
    await w.until(() => w.events.length === 5);
    seen.push(...w.events.map((e) => e.revision));

    // Restart the daemon (graceful) and a client that resumes after it.
    await daemon.restart();
    await w.until(() => w.error !== undefined || w.ended);
    client.close();
    client = connect(daemon.address);
    const c2 = api(client);
    for (let i = 0; i < 5; i++) writes.push((await c2.set({ key: "res", value: writes.length })).entry!.revision);
    w = new WatchStream(client, { key: "res", startRevision: seen[seen.length - 1]! + 1 });
    cleanups.push(() => w.cancel());
    await w.until(() => w.events.length === 5);
    seen.push(...w.events.map((e) => e.revision));
    expect(seen).toEqual(writes);
  });

  it("idle streams get progress heartbeats carrying the current revision", async () => {
    const { client, c } = await setup(["--watch-progress-ms", "100"]);
    const last = await c.set({ key: "elsewhere", value: 1 });
    const w = new WatchStream(client, { key: "quiet" });
    cleanups.push(() => w.cancel());
    await w.until(() => w.responses.filter((r) => r.status === WatchStatus.WATCH_STATUS_PROGRESS).length >= 2);
    const progress = w.responses.filter((r) => r.status === WatchStatus.WATCH_STATUS_PROGRESS);
    expect(progress.every((r) => r.header!.revision === last.entry!.revision && r.events.length === 0)).toBe(true);
  });

  it("a slow watcher blocks neither writers nor other watchers, and later gets everything once", async () => {
    const { client, c } = await setup();
    const slowClient = connect((await Promise.resolve(client.getChannel().getTarget())).replace(/^dns:/, ""));
    cleanups.push(() => slowClient.close());
    const slow = new WatchStream(slowClient, { key: "hot" });
    const fast = new WatchStream(client, { key: "hot" });
    cleanups.push(() => slow.cancel(), () => fast.cancel());
    await slow.until(() => slow.responses.length >= 1);
    await fast.until(() => fast.responses.length >= 1);
    slow.call.pause(); // stops reading: HTTP/2 flow control pushes back on the server

    const N = 3000;
    const payload = "p".repeat(2048);
    const revs: number[] = [];
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => c.set({ key: "hot", value: { i: i + j, payload } })));
      revs.push(...batch.map((b) => b.entry!.revision));
    }
    revs.sort((a, b) => a - b);
    // Every write was acknowledged and the fast watcher has all of them while the slow one is stuck.
    await fast.until(() => fast.events.length === N);
    expect(fast.events.map((e) => e.revision)).toEqual(revs);
    expect(slow.events.length).toBeLessThan(N);

    slow.call.resume();
    await slow.until(() => slow.events.length >= N);
    expect(slow.events.map((e) => e.revision)).toEqual(revs);
  });

  it("SIGTERM drains: streams end with UNAVAILABLE and the daemon exits 0", async () => {
    const { daemon, client } = await setup();
    const w = new WatchStream(client, { key: "x" });
    await w.until(() => w.responses.length >= 1);
    const code = await daemon.stop();
    await w.until(() => w.error !== undefined);
    expect(w.error!.code).toBe(grpc.status.UNAVAILABLE);
    expect(code).toBe(0);
    expect(daemon.logs.some((l) => l.msg === "stopped")).toBe(true);
  });

  it("a replay of large values reaches a client with grpc-js's default 4 MiB receive limit, in responses that fit it", async () => {
    const { client, c } = await setup();
    // 40 values near the 256 KiB limit: about 10 MB, one replay batch of the log.
    const big = "v".repeat(250_000);
    const revs: number[] = [];
    for (let i = 0; i < 40; i++) revs.push((await c.set({ key: `big/${i}`, value: { i, big } })).entry!.revision);
    const w = new WatchStream(client, { key: "big/", prefix: true, startRevision: 1 });
    cleanups.push(() => w.cancel());
    await w.until(() => w.events.length >= 40 || w.error !== undefined);
    expect(w.error).toBeUndefined();
    expect(w.events.map((e) => e.revision)).toEqual(revs);
    const batches = w.responses.filter((r) => r.status === WatchStatus.WATCH_STATUS_EVENTS);
    // About 1 MiB of entries a response: four values each.
    expect(batches.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...batches.map((r) => r.events.length))).toBeLessThanOrEqual(5);
  });

  it("a client holds at most --watch-streams-per-client streams; the next is RESOURCE_EXHAUSTED until one closes", async () => {
    const { client, daemon } = await setup(["--watch-streams-per-client", "3"]);
    const open = [0, 1, 2].map((i) => new WatchStream(client, { key: `w${i}` }));
    cleanups.push(() => open.forEach((w) => w.cancel()));
    for (const w of open) await w.until(() => w.responses.length >= 1);
    const refused = new WatchStream(client, { key: "w3" });
    await refused.until(() => refused.error !== undefined);
    expect(refused.error!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.error!.details).toMatch(/holds 3 Watch streams already.*--watch-streams-per-client/);
    expect(refused.error!.metadata.get("ctm-limit")).toEqual(["3"]);
    // A new connection from the same address is the same client.
    const other = connect(daemon.address);
    cleanups.push(() => other.close());
    const again = new WatchStream(other, { key: "w3" });
    await again.until(() => again.error !== undefined);
    expect(again.error!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // A closed stream frees its place.
    open[0]!.cancel();
    await until("a fourth stream opens", async () => {
      const w = new WatchStream(other, { key: "w3" });
      await w.until(() => w.responses.length >= 1 || w.error !== undefined);
      w.cancel();
      return w.error === undefined;
    });
    await until("the refusals are logged", async () => daemon.logs.filter((l) => l.method === "Watch" && l.status === "RESOURCE_EXHAUSTED").length >= 2);
  });

  it("with auth on, the limit is each principal's on each address: another token on the same address has its own", async () => {
    const { client, daemon } = await setup(["--auth", "on", "--watch-streams-per-client", "1"]);
    const adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
    const admin = new AuthApi(daemon.address, adminToken);
    cleanups.push(() => admin.close());
    await admin.setRole({ name: "watch-reader", grants: [{ verbs: [Verb.VERB_READ], keys: ["**"] }] });
    const readerToken = await admin.createToken("watch-reader", ["watch-reader"]);
    const open = (token: string): Promise<{ code: grpc.status; cancel: () => void }> =>
      new Promise((resolve) => {
        const call = client.watch(WatchRequest.fromPartial({ key: "a" }), bearer(token));
        call.on("data", () => resolve({ code: grpc.status.OK, cancel: () => call.cancel() }));
        call.on("error", (e: grpc.ServiceError) => resolve({ code: e.code, cancel: () => undefined }));
      });
    const first = await open(adminToken);
    expect(first.code).toBe(grpc.status.OK);
    expect((await open(adminToken)).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const reader = await open(readerToken);
    expect(reader.code).toBe(grpc.status.OK);
    first.cancel();
    reader.cancel();
  });

  it("rejects a bad key with INVALID_ARGUMENT", async () => {
    const { client } = await setup();
    const w = new WatchStream(client, { key: "bad key" });
    await w.until(() => w.error !== undefined);
    expect(w.error!.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});
