import * as grpc from "@grpc/grpc-js";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminServiceClient, type CompactResponse, type GetRetentionResponse } from "../src/gen/ctm/v1/admin_service.js";
import { readArchive } from "../src/storage/level/archive-file.js";
import { decodeLogValue } from "../src/storage/level/record-bytes.js";
import { api, call, connect, rejects, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";
import { WatchStream } from "./helpers/watch-stream.js";

let d: Daemon;
let client: Client;
let c: ReturnType<typeof api>;
let admin: AdminServiceClient;
const compact = (message = ""): Promise<CompactResponse> => call(admin.compact.bind(admin), { author: "ops", message });
const retention = (): Promise<GetRetentionResponse> => call(admin.getRetention.bind(admin), {});

beforeAll(async () => {
  d = await Daemon.start();
  client = connect(d.address);
  c = api(client);
  admin = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  admin?.close();
  await d?.dispose();
});

describe("retention", () => {
  it("checks policy and hold documents on every write path, naming the bad member", async () => {
    let e = await rejects(c.set({ key: "_ctm/retention/bad", value: { keys: ["flags/**"] } }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/^value\.keepForMs: or keepVersions is required/);
    e = await rejects(c.set({ key: "_ctm/retention/bad", value: { keys: ["flags/**"], keepForMs: 10, keepAuditForMs: 5 } }));
    expect(e.details).toMatch(/^value\.keepAuditForMs: must be at least keepForMs/);
    e = await rejects(c.apply({ operations: [{ operation: { $case: "set", value: { key: "_ctm/holds/h", value: { keys: ["a/**"] } } } }] }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/reason/);
    e = await rejects(c.set({ key: "_ctm/compactions", value: { horizon: 1 } }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("with no policy, compacts nothing and reports nothing; the header says the whole history is served", async () => {
    await c.set({ key: "plain/k", value: 1 });
    const r = await compact();
    expect(r.compaction).toMatchObject({ horizon: 1, previousHorizon: 1, removed: 0, stripped: 0, revision: 0 });
    expect(r.header).toMatchObject({ oldestRevision: 1 });
    expect(r.header!.oldestTime).toBeUndefined();
  });

  it("applies the policies, keeps holds, moves the horizon every header shows, and refuses reads before it", async () => {
    // flags/: the values of the last two versions, and the audit trail of all; tmp/: nothing superseded.
    await c.set({ key: "_ctm/retention/flags", value: { keys: ["flags/**"], keepVersions: 2, keepForMs: 0 } });
    await c.set({ key: "_ctm/retention/tmp", value: { keys: ["tmp/**"], keepForMs: 0, keepAuditForMs: 0 } });
    await c.set({ key: "_ctm/holds/legal", value: { keys: ["tmp/held"], reason: "case 42" } });
    const first = (await c.set({ key: "flags/a", value: { v: 1 } })).entry!.revision;
    for (let v = 2; v <= 6; v++) await c.set({ key: "flags/a", value: { v } });
    // b.same never changes after version 1: blaming it needs version 1's value.
    for (let v = 1; v <= 3; v++) await c.set({ key: "flags/b", value: { same: 1, v } });
    for (let v = 1; v <= 4; v++) await c.set({ key: "tmp/x", value: v });
    for (let v = 1; v <= 3; v++) await c.set({ key: "tmp/held", value: v });
    const before = await c.history({ key: "flags/a" });
    const atFirst = await c.getAt({ key: "flags/a", at: { $case: "revision", value: first } });
    expect(atFirst.entry!.value).toEqual({ v: 1 });

    const r = await compact("quarterly clean-up");
    const horizon = r.compaction!.horizon;
    // tmp/x: versions 1-3 leave (superseded, audit aged); tmp/held is held; flags/a: versions
    // 1-4 are not among the last two, so they keep only their audit fields.
    expect(r.compaction).toMatchObject({ previousHorizon: 1, removed: 3, stripped: 5 });
    expect(r.compaction!.revision).toBeGreaterThan(horizon);
    expect(r.header).toMatchObject({ oldestRevision: horizon });
    expect(r.header!.oldestTime).toBeInstanceOf(Date);
    // The horizon is where tmp/x's version 4 was written: the last record that superseded one that left.
    const tmp = await c.history({ key: "tmp/x" });
    expect(tmp.entries.map((e) => e.version)).toEqual([4]);
    expect(tmp.compactedBelowVersion).toBe(4);
    expect(horizon).toBe(tmp.entries[0]!.revision);
    expect((await c.history({ key: "tmp/held" })).entries.map((e) => e.version)).toEqual([3, 2, 1]);

    // Every response header carries it, Get included.
    const got = await c.get({ key: "flags/a" });
    expect(got.header).toMatchObject({ oldestRevision: horizon });
    expect(got.header!.oldestTime!.getTime()).toBe(r.header!.oldestTime!.getTime());

    // History: versions past the value horizon are there without their values.
    const after = await c.history({ key: "flags/a" });
    expect(after.entries.map((e) => [e.version, e.valueCompacted, e.value])).toEqual([
      [6, false, { v: 6 }],
      [5, false, { v: 5 }],
      [4, true, undefined],
      [3, true, undefined],
      [2, true, undefined],
      [1, true, undefined],
    ]);
    for (let i = 2; i < 6; i++) expect(after.entries[i]).toMatchObject({ author: before.entries[i]!.author, message: before.entries[i]!.message, time: before.entries[i]!.time, kind: before.entries[i]!.kind });
    expect(after.compactedBelowVersion).toBe(0);

    // Reads before the horizon: OUT_OF_RANGE naming it.
    const refused = async (p: Promise<unknown>, field: RegExp): Promise<void> => {
      const e = await rejects(p);
      expect(e.code).toBe(grpc.status.OUT_OF_RANGE);
      expect(e.details).toMatch(field);
      expect(e.details).toContain(String(horizon));
    };
    await refused(c.getAt({ key: "flags/a", at: { $case: "revision", value: first } }), /^at\.revision: revision \d+ was compacted/);
    await refused(c.getAt({ key: "flags/a", at: { $case: "time", value: new Date(atFirst.entry!.time!.getTime()) } }), /^at\.time: .* before the oldest revision served/);
    await refused(c.snapshot({ prefix: "flags/", at: { $case: "revision", value: horizon - 1 } }), /^at\.revision/);
    await refused(c.diff({ key: "flags/a", fromVersion: 1, toVersion: 6 }), /^from_version: the value of version 1 of "flags\/a" was compacted/);
    await refused(c.diff({ key: "tmp/x", fromVersion: 2, toVersion: 4 }), /^from_version: version 2 of "tmp\/x" was compacted/);
    await refused(c.rollback({ key: "flags/a", toVersion: 2 }), /^to_version: the value of version 2/);
    await refused(c.blame({ key: "flags/b" }), /^key: blame of "flags\/b" needs versions older than 2, whose values were compacted/);
    expect((await c.blame({ key: "flags/a" })).lines.length).toBeGreaterThan(0);
    await refused(c.rollbackPrefix({ prefix: "flags/", to: { $case: "revision", value: horizon - 1 } }), /^to\.revision/);
    // A Watch that starts below it is told the compact revision, as etcd does.
    const w = new WatchStream(client, { key: "flags/", prefix: true, startRevision: first });
    await w.until(() => w.error !== undefined);
    expect(w.error!.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(w.error!.details).toMatch(new RegExp(`^start_revision: revision ${first} was compacted; the oldest revision served is ${horizon}`));
    w.cancel();
    // At and after it, everything answers.
    expect((await c.snapshot({ prefix: "tmp/", at: { $case: "revision", value: horizon } })).entries.map((e) => `${e.key}@${e.version}`)).toEqual(["tmp/x@4"]);
    expect((await c.diff({ key: "flags/a", fromVersion: 5, toVersion: 6 })).operations.length).toBeGreaterThan(0);

    // GetRetention tells the same.
    const s = await retention();
    expect(s).toMatchObject({ oldestRevision: horizon, running: false });
    expect(s.policies.map((p) => p.name)).toEqual(["flags", "tmp"]);
    expect(s.policies[0]).toMatchObject({ keys: ["flags/**"], keepVersions: 2, keepFor: { seconds: 0, nanos: 0 } });
    expect(s.holds).toEqual([{ name: "legal", keys: ["tmp/held"], reason: "case 42" }]);
    expect(s.lastCompaction).toMatchObject({ horizon, removed: 3, stripped: 5, revision: r.compaction!.revision });

    // The compaction is itself a record, and its archive holds what left, as it was.
    const reports = await c.history({ key: "_ctm/compactions" });
    expect(reports.entries[0]).toMatchObject({ author: "ops", message: "quarterly clean-up", kind: 12, revision: r.compaction!.revision });
    expect(reports.entries[0]!.value).toMatchObject({ horizon, previousHorizon: 1, removed: 3, stripped: 5, policies: ["flags", "tmp"] });
    expect(existsSync(r.compaction!.archiveFile)).toBe(true);
    const archived = await readArchive(r.compaction!.archiveFile, r.compaction!.archiveSha256);
    const left: string[] = [];
    for await (const [what, bytes] of archived.entries) {
      const rec = decodeLogValue(bytes).record;
      left.push(`${what} ${rec.key}@${rec.version}=${JSON.stringify(rec.value)}`);
    }
    expect(left).toEqual([
      'strip flags/a@1={"v":1}',
      'strip flags/a@2={"v":2}',
      'strip flags/a@3={"v":3}',
      'strip flags/a@4={"v":4}',
      'strip flags/b@1={"same":1,"v":1}',
      "remove tmp/x@1=1",
      "remove tmp/x@2=2",
      "remove tmp/x@3=3",
    ]);
  });

  it("keeps its horizon across a restart, and a full check of the log passes", async () => {
    const before = await retention();
    await d.stop();
    await d.launch();
    client.close();
    admin.close();
    client = connect(d.address);
    c = api(client);
    admin = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
    const after = await retention();
    expect(after.oldestRevision).toBe(before.oldestRevision);
    // The disk space a run freed is known to that run alone.
    expect(after.lastCompaction).toEqual({ ...before.lastCompaction, bytesFreed: 0 });
    const v = await call(admin.verify.bind(admin), {});
    expect(v.verification).toMatchObject({ ok: true });
    expect((await c.history({ key: "flags/a" })).entries).toHaveLength(6);
  });

  it("refuses the next page of a listing whose revision a compaction passed, though that page was read ahead", async () => {
    await c.set({ key: "_ctm/retention/ra", value: { keys: ["ra/**"], keepForMs: 0, keepAuditForMs: 0 } });
    const set = (generation: number) => c.apply({ operations: Array.from({ length: 6 }, (_, i) => ({ operation: { $case: "set" as const, value: { key: `ra/k${i}`, value: generation } } })) });
    const past = (await set(1)).header!.revision;
    await set(2);
    const first = await c.snapshot({ prefix: "ra/", pageSize: 2, at: { $case: "revision", value: past } });
    expect(first.entries.map((e) => e.value)).toEqual([1, 1]);
    // The second page is read ahead meanwhile; then the compaction removes what it holds.
    await new Promise((r) => setTimeout(r, 100));
    expect((await compact()).compaction!.horizon).toBeGreaterThan(past);
    const e = await rejects(c.snapshot({ prefix: "ra/", pageSize: 2, pageToken: first.nextPageToken }));
    expect([e.code, e.details]).toEqual([grpc.status.OUT_OF_RANGE, expect.stringMatching(/below the compaction horizon/)]);
  });
});
