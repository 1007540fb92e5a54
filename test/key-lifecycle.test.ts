import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminServiceClient, type ListStaleKeysResponse } from "../src/gen/ctm/v1/admin_service.js";
import { api, call, connect, rejects, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";
import { eventually, scrape } from "./helpers/safety-clients.js";
import { ctm } from "./cli/run-ctm.js";

let d: Daemon;
let client: Client;
let c: ReturnType<typeof api>;
let admin: AdminServiceClient;
const stale = (prefix: string, unreadForSeconds: number, pageSize = 0, pageToken = ""): Promise<ListStaleKeysResponse> =>
  call(admin.listStaleKeys.bind(admin), { prefix, unreadFor: { seconds: unreadForSeconds, nanos: 0 }, pageSize, pageToken });

beforeAll(async () => {
  d = await Daemon.start({ args: ["--delete-guard-ms", "60000", "--flapping-changes", "3", "--flapping-window-ms", "60000"] });
  client = connect(d.address);
  c = api(client);
  admin = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  admin?.close();
  await d?.dispose();
});

describe("key lifecycle", () => {
  it("refuses to delete a key read within --delete-guard-ms, naming its last read, unless forced; Apply too", async () => {
    await c.set({ key: "life/used", value: 1 });
    await c.set({ key: "life/unused", value: 1 });
    await c.get({ key: "life/used" });
    const e = await rejects(c.delete({ key: "life/used" }));
    expect(e.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e.details).toMatch(/^key: "life\/used" was read \d+ s ago \(\d{4}-\d\d-\d\dT[\d:.]+Z, 1 reads counted\): something still uses it; set force to delete it anyway$/);
    const applied = await rejects(c.apply({ operations: [{ operation: { $case: "delete", value: { key: "life/used", force: false } } }] }));
    expect(applied.details).toMatch(/^operations\[0\]\.delete\.key: "life\/used" was read/);
    // Nothing was written.
    expect((await c.get({ key: "life/used" })).entry!.version).toBe(1);
    expect((await c.delete({ key: "life/unused" })).entry!.deleted).toBe(true);
    expect((await c.delete({ key: "life/used", force: true })).entry!.deleted).toBe(true);
    await c.set({ key: "life/cli", value: 1 });
    await c.get({ key: "life/cli" });
    const cli = await ctm(d.address, ["delete", "life/cli"]);
    expect(cli.code).toBe(9);
    expect(cli.stderr).toMatch(/^ctm: FAILED_PRECONDITION: key: "life\/cli" was read/);
    expect((await ctm(d.address, ["delete", "life/cli", "--force"])).code).toBe(0);
  });

  it("lists keys nobody read or changed for a while, in key order, page by page", async () => {
    for (const k of ["old/a", "old/b", "old/c", "old/d"]) await c.set({ key: k, value: k });
    await new Promise((r) => setTimeout(r, 3000));
    await c.get({ key: "old/b" });
    await c.set({ key: "old/d", value: "changed" });
    const r = await stale("old/", 2);
    expect(r.keys.map((k) => [k.key, k.reason, k.reads])).toEqual([
      ["old/a", "unread", 0],
      ["old/c", "unread", 0],
    ]);
    expect(r.keys[0]).toMatchObject({ version: 1, lastAuthor: "anonymous" });
    expect(r.keys[0]!.lastRead).toBeUndefined();
    expect(r.countingSince).toBeInstanceOf(Date);
    // A long window: nothing is that old.
    expect((await stale("old/", 3600)).keys).toEqual([]);
    // Pages of one.
    const first = await stale("old/", 2, 1);
    expect(first.keys.map((k) => k.key)).toEqual(["old/a"]);
    const second = await stale("old/", 2, 1, first.nextPageToken);
    expect(second.keys.map((k) => k.key)).toEqual(["old/c"]);
    expect(second.nextPageToken).toBe("");
    // The CLI over a window the reads above are surely inside, however slow its start.
    const cli = await ctm(d.address, ["stale", "old/", "--unread-for", "3s"]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/old\/a[\s│]+never[\s│]+0[\s\S]*old\/c[\s│]+never/);
    expect(cli.stdout).toMatch(/reads counted since \d{4}-/);
  });

  it("counts Gets across a restart", async () => {
    await c.set({ key: "cnt/k", value: 1 });
    for (let i = 0; i < 5; i++) await c.get({ key: "cnt/k" });
    await d.stop();
    await d.launch();
    client.close();
    admin.close();
    client = connect(d.address);
    c = api(client);
    admin = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
    const r = await stale("cnt/", 0);
    expect(r.keys.map((k) => [k.key, k.reads])).toEqual([["cnt/k", 5]]);
    // The delete guard still knows it was read.
    expect((await rejects(c.delete({ key: "cnt/k" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("warns about and exports a key that clients change too often", async () => {
    for (let i = 1; i <= 4; i++) await c.set({ key: "flap/k", value: i, author: `dev-${i}` });
    await c.set({ key: "calm/k", value: 1 });
    const line = await eventually("the flapping warning", () => d.logs.find((l) => l.msg?.toString().startsWith("key is flapping")));
    expect(line).toMatchObject({ key: "flap/k", changes: 4, authors: ["dev-4", "dev-3", "dev-2", "dev-1"], level: 40 });
    // The address of this run of the daemon (it restarted above).
    const listening = d.logs.filter((l) => l.msg === "listening").pop()!;
    const m = await scrape(listening.metrics as string);
    expect(m.value("ctm_key_flapping", { key: "flap/k" })).toBe(1);
    expect(m.series("ctm_key_flapping", { key: "calm/k" })).toEqual([]);
  });
});

describe("key lifecycle with read workers", () => {
  it("counts the Gets the workers serve, so the delete guard and stale keys see them", async () => {
    const w = await Daemon.start({ args: ["--workers", "1", "--delete-guard-ms", "60000"] });
    const wc = connect(w.address);
    const wa = new AdminServiceClient(w.address, grpc.credentials.createInsecure());
    try {
      const x = api(wc);
      await x.set({ key: "wk/k", value: 1 });
      for (let i = 0; i < 3; i++) await x.get({ key: "wk/k" });
      // Workers report their counts about once a second.
      const counted = await eventually("the worker's reads at the primary", async () => {
        const r = await call(wa.listStaleKeys.bind(wa), { prefix: "wk/", unreadFor: { seconds: 0, nanos: 0 }, pageSize: 0, pageToken: "" });
        return r.keys[0]?.reads === 3 ? r.keys[0] : undefined;
      });
      expect(counted.lastRead).toBeInstanceOf(Date);
      expect((await rejects(x.delete({ key: "wk/k" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
    } finally {
      wc.close();
      wa.close();
      await w.dispose();
    }
  });
});
