import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { HealthAction, Verdict } from "../../src/gen/ctm/v1/health_check_service.js";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { Reason } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect, rejects, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { accessLogApi, healthApi, seconds } from "../helpers/safety-clients.js";
import { rollOut, waitKind } from "../safety/health-helpers.js";

let daemon: Daemon;
let client: Client;
let c: ReturnType<typeof api>;

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--health-interval-ms", "100"] });
  client = connect(daemon.address);
  c = api(client);
}, 30_000);
afterAll(async () => {
  client?.close();
  await daemon?.dispose();
});

describe("ListKeys lists the live keys with how they are read", () => {
  it("pages in key order at one revision, with reads and rolling", async () => {
    for (const k of ["list/c", "list/a", "list/b", "list/d"]) await c.set({ key: k, value: k, author: "ana" });
    await c.delete({ key: "list/d" });
    await rollOut(c, "list/e", false, true);
    for (let i = 0; i < 3; i++) await c.get({ key: "list/b" });

    const first = await c.listKeys({ prefix: "list/", pageSize: 2 });
    expect(first.keys.map((k) => k.entry?.key)).toEqual(["list/a", "list/b"]);
    expect(first.nextPageToken).not.toBe("");
    // Written after the first page: the listing stays at its revision.
    await c.set({ key: "list/bb", value: 1 });
    // Deleted keys are not listed; a page may come back short, and the token goes on.
    const rest = [];
    for (let token = first.nextPageToken; token !== ""; ) {
      const page = await c.listKeys({ prefix: "list/", pageSize: 2, pageToken: token });
      rest.push(...page.keys);
      token = page.nextPageToken;
    }
    expect(rest.map((k) => k.entry?.key)).toEqual(["list/c", "list/e"]);

    const b = first.keys[1]!;
    expect(b).toMatchObject({ rolling: false, reads: 3 });
    expect(b.lastRead).toBeInstanceOf(Date);
    expect(first.keys[0]).toMatchObject({ reads: 0, lastRead: undefined });
    expect(first.keys[0]!.entry).toMatchObject({ value: "list/a", version: 1, author: "ana" });
    expect(rest[1]).toMatchObject({ rolling: true });
  });

  it("refuses a bad page token and a bad prefix by name", async () => {
    expect((await rejects(c.listKeys({ prefix: "list/", pageToken: "nope" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    const e = await rejects(c.listKeys({ prefix: "bad\u0000" }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.metadata.get("ctm-field")).toEqual(["prefix"]);
  });
});

describe("ListChanges lists records across keys, newest first", () => {
  it("filters by prefix, author and kind, and pages down to the oldest", async () => {
    await c.set({ key: "audit/x", value: 1, author: "bo" });
    await c.set({ key: "audit/y", value: 1, author: "cy" });
    await c.set({ key: "audit/x", value: 2, author: "bo" });
    await c.rollback({ key: "audit/x", toVersion: 1, author: "cy" });
    await c.set({ key: "other/z", value: 1, author: "bo" });

    const all = await c.listChanges({ prefix: "audit/" });
    expect(all.entries.map((e) => [e.key, e.version, e.author, e.kind])).toEqual([
      ["audit/x", 3, "cy", RecordKind.RECORD_KIND_ROLLBACK],
      ["audit/x", 2, "bo", RecordKind.RECORD_KIND_SET],
      ["audit/y", 1, "cy", RecordKind.RECORD_KIND_SET],
      ["audit/x", 1, "bo", RecordKind.RECORD_KIND_SET],
    ]);
    expect(all.nextPageToken).toBe("");

    const bo = await c.listChanges({ author: "bo" });
    expect(bo.entries.map((e) => e.key)).toEqual(["other/z", "audit/x", "audit/x"]);
    const rollbacks = await c.listChanges({ kinds: [RecordKind.RECORD_KIND_ROLLBACK] });
    expect(rollbacks.entries.map((e) => [e.key, e.version])).toEqual([["audit/x", 3]]);

    // A page at a time: the token continues below the last record given, to the very first.
    const seen: number[] = [];
    let token = "";
    do {
      const page = await c.listChanges({ limit: 3, pageToken: token });
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((e) => e.revision));
      token = page.nextPageToken;
    } while (token !== "");
    const head = (await c.get({ key: "other/z" })).header!.revision;
    expect(seen).toEqual(Array.from({ length: head }, (_, i) => head - i));
  });

  it("refuses an unknown kind by its index", async () => {
    const e = await rejects(c.listChanges({ kinds: [RecordKind.RECORD_KIND_SET, 99 as RecordKind] }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe("SummarizeAccessLog counts a key's evaluations per variant over time", () => {
  it("buckets the records in the window, empty buckets included", async () => {
    const a = accessLogApi(daemon.address);
    try {
      const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
      const rec = (min: number, variant: string) => ({ time: new Date(t0 + min * 60_000 + 1000), requestId: `r${min}${variant}`, unitId: "u", key: "sum/k", version: 1, revision: 1, variant, reason: Reason.REASON_VARIANT, source: "sdk" });
      await a.upload({ records: [rec(0, "on"), rec(0, "off"), rec(0, "on"), rec(2, "off"), rec(5, "on")] });
      const s = await a.summarize({ key: "sum/k", startTime: new Date(t0), endTime: new Date(t0 + 6 * 60_000), bucket: seconds(120) });
      expect(s.records).toBe(5);
      expect(s.truncated).toBe(false);
      expect(s.buckets.map((b) => [b.startTime?.getTime(), b.variants])).toEqual([
        [t0, { on: 2, off: 1 }],
        [t0 + 120_000, { off: 1 }],
        [t0 + 240_000, { on: 1 }],
      ]);
      const tooMany = await rejects(a.summarize({ key: "sum/k", startTime: new Date(t0), endTime: new Date(t0 + 86_400_000), bucket: seconds(1) }));
      expect(tooMany.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(tooMany.metadata.get("ctm-field")).toEqual(["bucket"]);
    } finally {
      a.client.close();
    }
  });
});

describe("GetHealthHistory returns what the health loop saw, tick by tick", () => {
  it("keeps the failing ticks and marks the one that rolled back", async () => {
    const h = healthApi(daemon.address);
    try {
      await rollOut(c, "hh/checkout", "v1", "v2");
      await h.setHealthCheck({
        check: { name: "hh-errors", keys: ["hh/checkout"], source: { $case: "pushed", value: {} }, maxErrorRate: 0.1, minSamples: 10, failuresToAct: 2, window: seconds(60), action: HealthAction.HEALTH_ACTION_ROLLBACK },
      });
      await h.reportMetrics({ samples: [{ key: "hh/checkout", variant: "new", requests: 100, errors: 50 }] });
      await waitKind(c, "hh/checkout", RecordKind.RECORD_KIND_AUTO_ROLLBACK);
      const { points } = await h.getHealthHistory({ key: "hh/checkout" });
      // A tick may fall between the check's creation and the first report: it saw no samples.
      const sampled = points.filter((p) => p.canarySamples > 0);
      expect(sampled.length).toBeGreaterThanOrEqual(2);
      for (const p of points) expect(p).toMatchObject({ check: "hh-errors", key: "hh/checkout" });
      for (const p of sampled) expect(p.canaryErrorRate).toBe(0.5);
      for (const p of points.filter((p) => p.canarySamples === 0)) expect(p.verdict).toBe(Verdict.VERDICT_INCONCLUSIVE);
      expect(points.findIndex((p) => p.canarySamples > 0)).toBe(points.length - sampled.length);
      const times = points.map((p) => p.checkedAt!.getTime());
      expect([...times].sort((x, y) => x - y)).toEqual(times);
      expect(points.at(-1)!.verdict).toBe(Verdict.VERDICT_BREACHED);
      expect(points.at(-2)!.verdict).toBe(Verdict.VERDICT_FAILING);
      expect((await h.getHealthHistory({ key: "hh/none" })).points).toEqual([]);
    } finally {
      h.client.close();
    }
  });
});
