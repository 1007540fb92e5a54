import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { AccessRecord } from "../../src/gen/ctm/v1/access_log_service.js";
import { Reason } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect, rejects } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { accessLogApi, eventually, metricsAddress, plan, scrape } from "../helpers/safety-clients.js";

const run = promisify(execFile);
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup(args: string[] = [], dataDir?: string) {
  const daemon = await Daemon.start({ args, dataDir });
  const client = connect(daemon.address);
  const a = accessLogApi(daemon.address);
  cleanups.push(() => daemon.dispose(), () => client.close(), () => a.client.close());
  return { daemon, client, c: api(client), a };
}

type Access = ReturnType<typeof accessLogApi>;
const ctx = (unitId: string, requestId: string) => ({ unitId, requestId, environment: "", attributes: {} });

/** Every record a query matches, following next_page_token. */
async function all(a: Access, q: Parameters<Access["query"]>[0]): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  let pageToken = "";
  do {
    const page = await a.query({ ...q, limit: 1000, pageToken });
    out.push(...page.records);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

/** Resolves once the wall clock has moved past `t` (so the next record's millisecond differs). */
const after = (t: number) => eventually("the clock to move", () => (Date.now() > t + 1 ? Date.now() : undefined), 1000, 1);

describe("the access log on the real daemon", () => {
  it("logs every Get with a request or unit id; queries by request, unit, key and time range, with paging", async () => {
    const { c, a } = await setup();
    await c.set({ key: "checkout", value: false });
    const ro = (await c.set({ key: "checkout", value: true, rollout: plan({ earlyAdopters: ["alice"], pinned: [{ unitId: "carol", serve: "stable" }] }) })).entry!;
    const stat = (await c.set({ key: "static.key", value: 7 })).entry!;

    const t0 = Date.now();
    const g1 = await c.get({ key: "checkout", context: ctx("alice", "abc-123") });
    expect(g1).toMatchObject({ value: true, variant: "new", reason: Reason.REASON_EARLY_ADOPTER });
    await c.get({ key: "checkout", context: ctx("carol", "abc-124") });
    await c.get({ key: "static.key", context: ctx("alice", "") });
    await c.get({ key: "checkout", context: ctx("", "anon-1") });
    await c.get({ key: "checkout" }); // neither id: not logged
    const t1 = Date.now();

    // "Which config did request abc-123 get?"
    const byReq = await a.query({ requestId: "abc-123" });
    expect(byReq.records).toHaveLength(1);
    const r = byReq.records[0]!;
    expect(r).toMatchObject({ requestId: "abc-123", unitId: "alice", key: "checkout", version: 2, revision: ro.revision, variant: "new", reason: Reason.REASON_EARLY_ADOPTER, source: "ctmd" });
    expect(r.time!.getTime()).toBeGreaterThanOrEqual(t0);
    expect(r.time!.getTime()).toBeLessThanOrEqual(t1);
    expect(byReq.nextPageToken).toBe("");
    expect((await a.query({ requestId: "abc-124" })).records).toEqual([
      expect.objectContaining({ unitId: "carol", key: "checkout", version: 2, variant: "stable", reason: Reason.REASON_PINNED }),
    ]);

    // By unit, newest first: the static key's Get had no request id.
    expect((await a.query({ unitId: "alice" })).records.map((x) => [x.key, x.requestId, x.version, x.revision, x.variant, x.reason])).toEqual([
      ["static.key", "", 1, stat.revision, "", Reason.REASON_STATIC],
      ["checkout", "abc-123", 2, ro.revision, "new", Reason.REASON_EARLY_ADOPTER],
    ]);
    // By key: four of the five Gets of checkout carried an id.
    expect((await a.query({ key: "checkout" })).records.map((x) => x.requestId)).toEqual(["anon-1", "abc-124", "abc-123"]);
    // Criteria combine.
    expect((await a.query({ unitId: "alice", key: "checkout" })).records.map((x) => x.requestId)).toEqual(["abc-123"]);
    expect((await a.query({ requestId: "abc-123", key: "static.key" })).records).toEqual([]);

    // By time range: three phases with the clock moving between them.
    const phase = async (p: string) => {
      for (let i = 0; i < 3; i++) await c.get({ key: "static.key", context: ctx(`${p}-unit`, `${p}-${i}`) });
    };
    await phase("a");
    const tA = await after(Date.now()); // later than every "a" record
    await after(tA); // earlier than every "b" record
    await phase("b");
    const tB = await after(Date.now());
    await after(tB);
    await phase("c");
    const mid = await a.query({ startTime: new Date(tA), endTime: new Date(tB) });
    expect(mid.records.map((x) => x.requestId)).toEqual(["b-2", "b-1", "b-0"]);
    expect((await a.query({ key: "static.key", startTime: new Date(tB) })).records.map((x) => x.requestId)).toEqual(["c-2", "c-1", "c-0"]);
    expect((await a.query({ unitId: "a-unit", endTime: new Date(tA) })).records.map((x) => x.requestId)).toEqual(["a-2", "a-1", "a-0"]);

    // Paging: 25 Gets by one unit, 10 per page, newest first, nothing twice or missing.
    for (let i = 0; i < 25; i++) await c.get({ key: "checkout", context: ctx("pager", `p-${String(i).padStart(2, "0")}`) });
    const pages: string[][] = [];
    let pageToken = "";
    do {
      const page = await a.query({ unitId: "pager", limit: 10, pageToken });
      pages.push(page.records.map((x) => x.requestId));
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && pages.length < 10);
    const ids = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => `p-${String(from - i).padStart(2, "0")}`);
    expect(pages).toEqual([ids(24, 15), ids(14, 5), ids(4, 0)]);

    const none = await rejects(a.query({}));
    expect(none.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(none.details).toBe("request_id: give a request_id, unit_id, key or time range");
    expect((await rejects(a.query({ unitId: "pager", pageToken: "bad" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await rejects(a.query({ startTime: new Date(tB), endTime: new Date(tA) }))).details).toBe("end_time: must not be before start_time");
  });

  it("UploadAccessLog: records an SDK evaluated locally are queryable like the daemon's own", async () => {
    const { a } = await setup();
    const when = new Date(Date.now() - 5000);
    const before = Date.now();
    const up = await a.upload({
      records: [
        { time: when, requestId: "sdk-req-1", unitId: "u-9", key: "checkout", version: 4, revision: 17, variant: "cards", reason: Reason.REASON_VARIANT, source: "sdk-go/1.2" },
        { requestId: "sdk-req-2", key: "checkout", version: 4, revision: 17, variant: "stable", reason: Reason.REASON_OUT_OF_ROLLOUT },
      ],
    });
    expect(up).toMatchObject({ accepted: 2, dropped: 0 });

    expect((await a.query({ requestId: "sdk-req-1" })).records).toEqual([
      { time: when, requestId: "sdk-req-1", unitId: "u-9", key: "checkout", version: 4, revision: 17, variant: "cards", reason: Reason.REASON_VARIANT, source: "sdk-go/1.2" },
    ]);
    const [second] = (await a.query({ requestId: "sdk-req-2" })).records;
    expect(second).toMatchObject({ unitId: "", source: "sdk", reason: Reason.REASON_OUT_OF_ROLLOUT });
    expect(second!.time!.getTime()).toBeGreaterThanOrEqual(before);
    expect((await a.query({ unitId: "u-9" })).records.map((x) => x.requestId)).toEqual(["sdk-req-1"]);

    const noKey = await rejects(a.upload({ records: [{ requestId: "x" }] }));
    expect(noKey.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noKey.metadata.get("ctm-field")).toEqual(["records[0].key"]);
    const noIds = await rejects(a.upload({ records: [{ requestId: "ok", key: "k" }, { key: "k" }] }));
    expect(noIds.metadata.get("ctm-field")).toEqual(["records[1]"]);
    // The sources of what ctmd served itself cannot be claimed.
    for (const source of ["ctmd", "ofrep"]) {
      const posing = await rejects(a.upload({ records: [{ requestId: "ok", key: "k", source }] }));
      expect(posing.metadata.get("ctm-field")).toEqual(["records[0].source"]);
    }
    // A refused upload takes nothing.
    expect((await a.query({ requestId: "ok" })).records).toEqual([]);
  });

  it("retention by age removes expired records in the background", async () => {
    const { c, a } = await setup(["--access-log-max-age-ms", "5000", "--access-log-retention-interval-ms", "100"]);
    await c.set({ key: "k", value: 1 });
    const now = Date.now();
    await a.upload({ records: [{ time: new Date(now - 2500), requestId: "old-1", key: "k", source: "sdk" }, { time: new Date(now - 2400), requestId: "old-2", key: "k", source: "sdk" }] });
    await c.get({ key: "k", context: ctx("u", "fresh-1") });
    expect((await all(a, { key: "k" })).map((x) => x.requestId)).toEqual(["fresh-1", "old-2", "old-1"]);

    // The old ones pass 5s first; the Get's record stays until it is 5s old too.
    await eventually("old records to expire", async () => ((await all(a, { key: "k" })).length <= 1 ? true : undefined), 15_000);
    expect((await all(a, { key: "k" })).map((x) => x.requestId)).toEqual(["fresh-1"]);
    await eventually("the fresh record to expire", async () => ((await all(a, { key: "k" })).length === 0 ? true : undefined), 15_000);
    expect((await a.query({ requestId: "fresh-1" })).records).toEqual([]);
  });

  it("retention by size trims the oldest records until the log fits", async () => {
    const { a } = await setup(["--access-log-max-bytes", "60000", "--access-log-retention-interval-ms", "100"]);
    const t0 = Date.now() - 60_000;
    const id = (i: number) => `s-${String(i).padStart(4, "0")}`;
    for (let b = 0; b < 10; b++) {
      const records = Array.from({ length: 100 }, (_, j) => {
        const i = b * 100 + j;
        return { time: new Date(t0 + i), requestId: id(i), unitId: "unit-x", key: "sized", version: 1, revision: 1, variant: "new", reason: Reason.REASON_IN_ROLLOUT, source: "sdk" };
      });
      expect((await a.upload({ records })).accepted).toBe(100);
    }
    // About 260 bytes a record with its indexes: 1000 records are far above 60,000 bytes.
    await eventually("the oldest record to be trimmed", async () => ((await a.query({ requestId: id(0) })).records.length === 0 ? true : undefined), 15_000);
    // Once trimmed, what is left stays: poll until two reads agree.
    let kept: string[] = [];
    await eventually("retention to settle", async () => {
      const now = (await all(a, { key: "sized" })).map((x) => x.requestId);
      const same = now.length === kept.length;
      kept = now;
      return same ? true : undefined;
    }, 15_000, 300);
    const n = kept.length;
    // The newest survive, contiguous, newest first; only what did not fit went.
    expect(kept).toEqual(Array.from({ length: n }, (_, i) => id(999 - i)));
    expect(n).toBeGreaterThan(100);
    expect(n).toBeLessThan(400);
  });

  it("under overload (--access-log-queue 10) every Get is answered and the drops are counted in /metrics", async () => {
    const { daemon, c, a } = await setup(["--access-log-queue", "10"]);
    await c.set({ key: "hot", value: "v" });
    const N = 500;
    const answers = await Promise.all(Array.from({ length: N }, (_, i) => c.get({ key: "hot", context: ctx(`u-${i}`, `burst-${i}`) })));
    expect(answers.every((g) => g.value === "v")).toBe(true);

    const m = await scrape(metricsAddress(daemon));
    const dropped = m.value("ctm_access_log_dropped_total");
    expect(dropped).toBeGreaterThan(0);
    expect(m.value("ctm_access_log_queue_depth")).toBeLessThanOrEqual(10);
    // Every Get was either logged or counted as dropped.
    const logged = await all(a, { key: "hot" });
    expect(logged.length + dropped).toBe(N);
    expect(new Set(logged.map((x) => x.requestId)).size).toBe(logged.length);
    expect((await scrape(metricsAddress(daemon))).value("ctm_access_log_written_total")).toBe(logged.length);
  });

  it("a full disk under the access log never takes Get down: the batches are dropped and counted", async () => {
    // A real failure, as in health.test.ts: the data directory on a 2 MiB tmpfs, then filled up.
    const dir = await mkdtemp(join(tmpdir(), "ctm-full-access-"));
    await run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir]);
    cleanups.push(() => rm(dir, { recursive: true, force: true }), () => run("umount", ["-l", dir]));
    const { daemon, c } = await setup([], dir);
    await c.set({ key: "k", value: 1 });
    await run("sh", ["-c", `dd if=/dev/zero of=${join(dir, "filler")} bs=4k 2>/dev/null; true`]);

    const addr = metricsAddress(daemon);
    let sent = 0;
    const dropped = await eventually("dropped access records", async () => {
      await Promise.all(Array.from({ length: 200 }, () => c.get({ key: "k", context: ctx("u".repeat(64), `full-${sent++}-${"r".repeat(100)}`) })));
      const m = await scrape(addr);
      return m.value("ctm_access_log_errors_total") > 0 ? m.value("ctm_access_log_dropped_total") : undefined;
    }, 20_000, 100);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThanOrEqual(sent);
    // The daemon is alive and still serves.
    for (let i = 0; i < 20; i++) expect((await c.get({ key: "k", context: ctx("u", `after-${i}`) })).value).toBe(1);
    expect(daemon.pid).toBeDefined();
    expect((await scrape(addr)).value("ctm_access_log_dropped_total")).toBeGreaterThanOrEqual(dropped);
  });
});
