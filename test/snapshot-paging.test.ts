import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, connect, rejects, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";

let daemon: Daemon;
let client: Client;
let c: ReturnType<typeof api>;

beforeAll(async () => {
  daemon = await Daemon.start();
  client = connect(daemon.address);
  c = api(client);
}, 30_000);

afterAll(async () => {
  client?.close();
  await daemon?.dispose();
});

const setOp = (key: string, value: unknown) => ({ operation: { $case: "set" as const, value: { key, value } } });

/** Every page of a listing, from a first request. */
async function pages(first: Parameters<typeof c.snapshot>[0], between?: () => Promise<void>) {
  let r = await c.snapshot(first);
  const out = [r];
  while (r.nextPageToken !== "") {
    await between?.();
    r = await c.snapshot({ prefix: first.prefix, pageSize: first.pageSize, pageToken: r.nextPageToken });
    out.push(r);
  }
  return out;
}

describe("Snapshot pages", () => {
  it("read every page at the first page's revision, whatever is written between them", async () => {
    await c.apply({ operations: Array.from({ length: 25 }, (_, i) => setOp(`pg/k${String(i).padStart(2, "0")}`, i)) });
    await c.delete({ key: "pg/k03" });
    const whole = await c.snapshot({ prefix: "pg/" });
    expect(whole.nextPageToken).toBe("");
    expect(whole.entries).toHaveLength(24);
    let n = 0;
    const got = await pages({ prefix: "pg/", pageSize: 10 }, async () => {
      // Writes between pages: a new key, a changed key, a deleted key; none shows up.
      n++;
      await c.set({ key: `pg/k${n}new`, value: "late" });
      await c.set({ key: "pg/k24", value: `changed ${n}` });
      if (n === 1) await c.delete({ key: "pg/k20" });
    });
    expect(got.map((p) => p.entries.length)).toEqual([9, 10, 5]);
    expect(new Set(got.map((p) => p.revision))).toEqual(new Set([whole.revision]));
    expect(got.flatMap((p) => p.entries)).toEqual(whole.entries);
    // A later listing sees the writes.
    const later = (await pages({ prefix: "pg/", pageSize: 7 })).flatMap((p) => p.entries);
    expect(later.map((e) => e.key)).toContain("pg/k1new");
    expect(later.map((e) => e.key)).not.toContain("pg/k20");
  });

  it("page a past revision the same way", async () => {
    const r1 = (await c.set({ key: "past/a", value: 1 })).entry!.revision;
    await c.set({ key: "past/b", value: 1 });
    await c.set({ key: "past/a", value: 2 });
    const got = await pages({ prefix: "past/", pageSize: 1, at: { $case: "revision", value: r1 } });
    expect(got.flatMap((p) => p.entries.map((e) => [e.key, e.value]))).toEqual([["past/a", 1]]);
    expect(got.every((p) => p.revision === r1)).toBe(true);
  });

  it("end before about 1 MiB of values, so a page fits any client's default 4 MiB", async () => {
    const big = "x".repeat(200 * 1024);
    for (let i = 0; i < 12; i++) await c.set({ key: `big/k${String(i).padStart(2, "0")}`, value: big });
    const got = await pages({ prefix: "big/" });
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got.every((p) => p.entries.length <= 5)).toBe(true);
    expect(got.flatMap((p) => p.entries.map((e) => e.key))).toEqual(Array.from({ length: 12 }, (_, i) => `big/k${String(i).padStart(2, "0")}`));
  });

  it("refuse a token from another prefix or not from this server, naming page_token; page_size is bounded", async () => {
    await c.apply({ operations: [setOp("tok/a", 1), setOp("tok/b", 2)] });
    const first = await c.snapshot({ prefix: "tok/", pageSize: 1 });
    expect(first.nextPageToken).not.toBe("");
    for (const [prefix, token] of [
      ["pg/", first.nextPageToken],
      ["tok/", "not-a-token"],
      ["tok/", Buffer.from("s1:99999999:4:tok/a").toString("base64url")],
    ] as const) {
      const e = await rejects(c.snapshot({ prefix, pageToken: token }));
      expect([e.code, e.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^page_token: /)]);
    }
    // The largest uint32 is cut to the most a page looks at.
    expect((await c.snapshot({ prefix: "tok/", pageSize: 4_294_967_295 })).entries).toHaveLength(2);
  });
});
