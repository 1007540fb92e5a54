import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import http2 from "node:http2";
import { GetRequest, GetResponse } from "../src/gen/ctm/v1/config_service.js";
import { RecordKind } from "../src/gen/ctm/v1/record.js";
import { api, rejects, connect, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";

let daemon: Daemon;
let client: Client;
let c: ReturnType<typeof api>;

beforeAll(async () => {
  daemon = await Daemon.start();
  client = connect(daemon.address);
  c = api(client);
});
afterAll(async () => {
  client.close();
  await daemon.dispose();
});

describe("ConfigService against a real daemon", () => {
  it("sets and gets any JSON value with author, message and a revision header", async () => {
    const set = await c.set({ key: "db.pool", value: { size: 20, hosts: ["a", "b"] }, author: "ana", message: "bigger pool" });
    expect(set.entry).toMatchObject({ key: "db.pool", version: 1, author: "ana", message: "bigger pool", kind: RecordKind.RECORD_KIND_SET, cause: "api" });
    expect(set.header!.revision).toBe(set.entry!.revision);
    const got = await c.get({ key: "db.pool" });
    expect(got.entry!.value).toEqual({ size: 20, hosts: ["a", "b"] });
    expect(got.header!.revision).toBeGreaterThanOrEqual(set.entry!.revision);
    for (const v of [null, true, 3.5, "text", [1, "x", null]]) {
      await c.set({ key: "scalar", value: v });
      expect((await c.get({ key: "scalar" })).entry!.value).toEqual(v);
    }
  });

  it("a Get over HTTP/2 answers a date header with the current time, and the value", async () => {
    await c.set({ key: "dated", value: 7 });
    const body = Buffer.from(GetRequest.encode({ key: "dated", context: undefined, consistent: false }).finish());
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
    const session = http2.connect(`http://${daemon.address}`);
    try {
      const before = Math.floor(Date.now() / 1000) * 1000;
      const { headers, data, trailers } = await new Promise<{ headers: http2.IncomingHttpHeaders; data: Buffer; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
        const s = session.request({ ":method": "POST", ":path": "/ctm.v1.ConfigService/Get", "content-type": "application/grpc", te: "trailers" });
        let h: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        s.on("response", (x) => (h = x));
        s.on("data", (d: Buffer) => chunks.push(d));
        s.on("trailers", (t) => resolve({ headers: h, data: Buffer.concat(chunks), trailers: t }));
        s.on("error", reject);
        s.end(frame);
      });
      const after = Date.now();
      expect(headers[":status"]).toBe(200);
      expect(typeof headers.date).toBe("string");
      const date = Date.parse(headers.date!);
      expect(date).toBeGreaterThanOrEqual(before);
      expect(date).toBeLessThanOrEqual(after);
      expect(new Date(date).toUTCString()).toBe(headers.date);
      expect(trailers["grpc-status"]).toBe("0");
      expect(GetResponse.decode(data.subarray(5)).entry!.value).toBe(7);
    } finally {
      session.close();
    }
  });

  it("compare-and-set with expected_version, 0 meaning create-only", async () => {
    await c.set({ key: "cas", value: 1, expectedVersion: 0 });
    await c.set({ key: "cas", value: 2, expectedVersion: 1 });
    const err = await rejects(c.set({ key: "cas", value: 3, expectedVersion: 1 }));
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.details).toMatch(/expected_version 1 does not match the current version 2/);
    expect(err.metadata.get("ctm-actual")).toEqual(["2"]);
  });

  it("delete leaves a tombstone: Get is NOT_FOUND, history keeps it, versions go on", async () => {
    await c.set({ key: "gone", value: "a" });
    const del = await c.delete({ key: "gone", author: "bo", message: "retire" });
    expect(del.entry).toMatchObject({ deleted: true, version: 2, kind: RecordKind.RECORD_KIND_DELETE });
    expect((await rejects(c.get({ key: "gone" }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await rejects(c.delete({ key: "gone" }))).code).toBe(grpc.status.NOT_FOUND);
    const h = await c.history({ key: "gone", limit: 0, pageToken: "" });
    expect(h.entries.map((e) => [e.version, e.deleted])).toEqual([[2, true], [1, false]]);
    const again = await c.set({ key: "gone", value: "b" });
    expect(again.entry!.version).toBe(3);
  });

  it("history is newest first and pages with a token", async () => {
    for (let i = 1; i <= 7; i++) await c.set({ key: "paged", value: i });
    const p1 = await c.history({ key: "paged", limit: 3, pageToken: "" });
    expect(p1.entries.map((e) => e.value)).toEqual([7, 6, 5]);
    const p2 = await c.history({ key: "paged", limit: 3, pageToken: p1.nextPageToken });
    expect(p2.entries.map((e) => e.value)).toEqual([4, 3, 2]);
    const p3 = await c.history({ key: "paged", limit: 3, pageToken: p2.nextPageToken });
    expect(p3.entries.map((e) => e.value)).toEqual([1]);
    expect(p3.nextPageToken).toBe("");
  });

  it("diff returns RFC 6902 operations between versions", async () => {
    await c.set({ key: "svc", value: { timeout: 5, retries: 2, tags: ["a"] } });
    await c.set({ key: "svc", value: { timeout: 9, tags: ["a", "b"], new: true } });
    const d = await c.diff({ key: "svc", fromVersion: 1, toVersion: 2 });
    const ops = d.operations.map((o) => ({ op: o.op, path: o.path, value: o.value }));
    expect(ops).toEqual(
      expect.arrayContaining([
        { op: "replace", path: "/timeout", value: 9 },
        { op: "remove", path: "/retries", value: undefined },
        { op: "add", path: "/tags/1", value: "b" },
        { op: "add", path: "/new", value: true },
      ]),
    );
    expect(ops).toHaveLength(4);
    const dflt = await c.diff({ key: "svc", fromVersion: 0, toVersion: 0 });
    expect(dflt.from!.version).toBe(1);
    expect(dflt.to!.version).toBe(2);
  });

  it("blame names the version that last changed each leaf", async () => {
    await c.set({ key: "bl", value: { a: 1, b: 1 }, author: "first" });
    await c.set({ key: "bl", value: { a: 1, b: 2 }, author: "second" });
    const b = await c.blame({ key: "bl" });
    const byPath = Object.fromEntries(b.lines.map((l) => [l.path, [l.version, l.author, l.value]]));
    expect(byPath).toEqual({ "/a": [1, "first", 1], "/b": [2, "second", 2] });
  });

  it("rollback appends a new version with the old value and rolled_back_to", async () => {
    await c.set({ key: "rb", value: "v1" });
    await c.set({ key: "rb", value: "v2" });
    await c.set({ key: "rb", value: "v3" });
    const prev = await c.rollback({ key: "rb", author: "oncall", message: "bad deploy" });
    expect(prev.entry).toMatchObject({ version: 4, value: "v2", rolledBackTo: 2, kind: RecordKind.RECORD_KIND_ROLLBACK, author: "oncall" });
    const first = await c.rollback({ key: "rb", toVersion: 1 });
    expect(first.entry).toMatchObject({ version: 5, value: "v1", rolledBackTo: 1 });
    expect((await c.history({ key: "rb", limit: 10, pageToken: "" })).entries).toHaveLength(5);
  });

  it("GetAt answers by revision and by time; Snapshot lists what was live", async () => {
    const a = await c.set({ key: "tt/a", value: 1 });
    const b = await c.set({ key: "tt/b", value: 1 });
    await new Promise((r) => setTimeout(r, 15));
    const mid = new Date();
    await new Promise((r) => setTimeout(r, 15));
    await c.set({ key: "tt/a", value: 2 });
    await c.delete({ key: "tt/b" });
    await c.set({ key: "tt/c", value: 1 });

    expect((await c.getAt({ key: "tt/a", at: { $case: "revision", value: a.entry!.revision } })).entry!.value).toBe(1);
    const byTime = await c.getAt({ key: "tt/a", at: { $case: "time", value: mid } });
    expect(byTime.entry!.value).toBe(1);
    expect(byTime.revision).toBe(b.entry!.revision);
    const nowB = await rejects(c.getAt({ key: "tt/b", at: { $case: "revision", value: (await c.get({ key: "tt/c" })).entry!.revision } }));
    expect(nowB.code).toBe(grpc.status.NOT_FOUND);

    const then = await c.snapshot({ prefix: "tt/", at: { $case: "time", value: mid } });
    expect(then.entries.map((e) => [e.key, e.value])).toEqual([["tt/a", 1], ["tt/b", 1]]);
    const now = await c.snapshot({ prefix: "tt/", at: undefined });
    expect(now.entries.map((e) => [e.key, e.value])).toEqual([["tt/a", 2], ["tt/c", 1]]);
  });

  it("Apply is all or nothing with consecutive revisions", async () => {
    const ok = await c.apply({
      operations: [
        { operation: { $case: "set", value: { key: "ap/x", value: 1 } } },
        { operation: { $case: "set", value: { key: "ap/y", value: 2, expectedVersion: 0 } } },
        { operation: { $case: "delete", value: { key: "ap/x", force: false } } },
      ],
      author: "batch",
      message: "three at once",
    });
    const revs = ok.entries.map((e) => e.revision);
    expect(revs).toEqual([revs[0], revs[0]! + 1, revs[0]! + 2]);
    expect(ok.entries.map((e) => [e.key, e.version, e.deleted])).toEqual([["ap/x", 1, false], ["ap/y", 1, false], ["ap/x", 2, true]]);

    const before = ok.header!.revision;
    const err = await rejects(c.apply({
      operations: [
        { operation: { $case: "set", value: { key: "ap/z", value: 1 } } },
        { operation: { $case: "set", value: { key: "ap/y", value: 3, expectedVersion: 7 } } },
      ],
      author: "",
      message: "",
    }));
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.metadata.get("ctm-field")).toEqual(["operations[1].set.expected_version"]);
    expect((await c.snapshot({ prefix: "", at: undefined })).header!.revision).toBe(before);
    expect((await rejects(c.get({ key: "ap/z" }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it("RollbackPrefix restores a whole prefix in one batch and deletes keys created since", async () => {
    await c.set({ key: "pay/fee", value: 1 });
    await c.set({ key: "pay/limit", value: 100 });
    const mark = await c.set({ key: "other", value: "x" });
    await c.set({ key: "pay/fee", value: 2 });
    await c.delete({ key: "pay/limit" });
    await c.set({ key: "pay/new", value: true });
    await c.set({ key: "other", value: "y" });

    const r = await c.rollbackPrefix({ prefix: "pay/", to: { $case: "revision", value: mark.entry!.revision }, author: "oncall", message: "undo" });
    expect(r.revision).toBe(mark.entry!.revision);
    expect(r.entries.map((e) => [e.key, e.deleted, e.value ?? null, e.kind])).toEqual([
      ["pay/fee", false, 1, RecordKind.RECORD_KIND_ROLLBACK],
      ["pay/limit", false, 100, RecordKind.RECORD_KIND_ROLLBACK],
      ["pay/new", true, null, RecordKind.RECORD_KIND_ROLLBACK],
    ]);
    const revs = r.entries.map((e) => e.revision);
    expect(revs[2]! - revs[0]!).toBe(2);
    expect({ restored: r.restored, first: r.firstRevision, last: r.lastRevision }).toEqual({ restored: 3, first: revs[0], last: revs[2] });
    expect((await c.get({ key: "other" })).entry!.value).toBe("y");
    const again = await c.rollbackPrefix({ prefix: "pay/", to: { $case: "revision", value: mark.entry!.revision }, author: "", message: "" });
    expect(again.entries).toEqual([]);
    expect({ restored: again.restored, first: again.firstRevision, last: again.lastRevision }).toEqual({ restored: 0, first: 0, last: 0 });
  });

  it("RollbackPrefix of thousands of keys answers within a default client's message limit and counts them all", async () => {
    const N = 12_000;
    const note = "n".repeat(300);
    for (let b = 0; b < N; b += 1000) {
      await c.apply({ operations: Array.from({ length: 1000 }, (_, j) => ({ operation: { $case: "set" as const, value: { key: `wide/${String(b + j).padStart(5, "0")}`, value: { v: 1, note } } } })) });
    }
    const mark = await c.set({ key: "wide-mark", value: 1 });
    for (let b = 0; b < N; b += 1000) {
      await c.apply({ operations: Array.from({ length: 1000 }, (_, j) => ({ operation: { $case: "set" as const, value: { key: `wide/${String(b + j).padStart(5, "0")}`, value: { v: 2, note } } } })) });
    }
    // About 4 MiB of values in all: one answer listing every record would pass grpc-js's default limit.
    const r = await c.rollbackPrefix({ prefix: "wide/", to: { $case: "revision", value: mark.entry!.revision } });
    expect(r.restored).toBe(N);
    expect(r.lastRevision - r.firstRevision + 1).toBe(N);
    expect(r.entries.length).toBeGreaterThan(0);
    expect(r.entries.length).toBeLessThanOrEqual(1000);
    expect(r.entries[0]).toMatchObject({ key: "wide/00000", revision: r.firstRevision });
    expect((await c.get({ key: `wide/${N - 1}` })).entry!.value).toEqual({ v: 1, note });
  });

  it("RollbackPrefix over several pages of the past restores exactly what the prefix held, keys born and deleted since included", async () => {
    const N = 2_500;
    const key = (i: number, tail = ""): string => `multi/${String(i).padStart(4, "0")}${tail}`;
    const apply = async (ops: ({ set: string; value: unknown } | { del: string })[]): Promise<void> => {
      for (let b = 0; b < ops.length; b += 500) {
        await c.apply({
          operations: ops.slice(b, b + 500).map((o) => ("del" in o ? { operation: { $case: "delete" as const, value: { key: o.del, force: false } } } : { operation: { $case: "set" as const, value: { key: o.set, value: o.value } } })),
        });
      }
    };
    const range = (n: number, keep: (i: number) => boolean): number[] => Array.from({ length: n }, (_, i) => i).filter(keep);
    const listing = async (at?: number): Promise<Map<string, unknown>> => {
      const out = new Map<string, unknown>();
      let pageToken = "";
      do {
        const p = await c.snapshot({ prefix: "multi/", at: at === undefined ? undefined : { $case: "revision", value: at }, pageSize: 700, pageToken });
        for (const e of p.entries) out.set(e.key, e.value);
        pageToken = p.nextPageToken;
      } while (pageToken !== "");
      return out;
    };
    await apply(range(N, () => true).map((i) => ({ set: key(i), value: { v: 1, i } })));
    // Deleted before the mark: tombstones in the past, some of them written again since.
    await apply(range(N, (i) => i % 10 === 3).map((i) => ({ del: key(i) })));
    const mark = (await c.set({ key: "multi-mark", value: 1 })).entry!.revision;
    await apply([
      ...range(N, (i) => i % 3 === 0).map((i) => ({ set: key(i), value: { v: 2, i } })),
      ...range(N, (i) => i % 7 === 1 && i % 10 !== 3 && i % 3 !== 0).map((i) => ({ del: key(i) })),
      ...range(N, (i) => i % 30 === 13).map((i) => ({ set: key(i), value: { v: 3, i } })),
      // Born since, between keys of the past on every page of it and after its last key.
      ...range(N, (i) => i % 250 === 0).map((i) => ({ set: key(i, "b"), value: { born: i } })),
      { set: key(9999), value: { born: 9999 } },
    ]);
    const then = await listing(mark);
    const now = await listing();
    const changed = [...new Set([...then.keys(), ...now.keys()])].filter((k) => JSON.stringify(then.get(k)) !== JSON.stringify(now.get(k))).sort();
    expect(changed.length).toBeGreaterThan(1000);

    const r = await c.rollbackPrefix({ prefix: "multi/", to: { $case: "revision", value: mark } });
    expect(r.restored).toBe(changed.length);
    expect(r.lastRevision - r.firstRevision + 1).toBe(changed.length);
    // Revisions follow key order, and the answer lists the first of them.
    expect(r.entries.map((e) => e.key)).toEqual(changed.slice(0, r.entries.length));
    expect(r.entries.map((e) => e.revision)).toEqual(r.entries.map((_, i) => r.firstRevision + i));
    expect(await listing()).toEqual(then);
  });

  it("Blame, Diff and ListChanges of the largest values answer within a default client's message limit", async () => {
    // 120,000 numbers (about 240 KB of JSON, near the 256 KiB limit) under 4096-character
    // messages: a line per leaf, each repeating its message, was half a gigabyte.
    const message = "m".repeat(4096);
    const zeros = Array.from({ length: 120_000 }, () => 0);
    await c.set({ key: "huge", value: zeros, message });
    await c.set({ key: "huge", value: zeros.map(() => 1), message });
    const blame = await c.blame({ key: "huge" });
    expect(blame.truncated).toBe(true);
    expect(blame.lines.length).toBeGreaterThan(0);
    expect(blame.lines[0]).toMatchObject({ path: "/0", value: 1, version: 2 });
    const one = await c.blame({ key: "huge", path: "/119999" });
    expect([one.lines.map((l) => l.path), one.truncated]).toEqual([["/119999"], false]);
    const diff = await c.diff({ key: "huge" });
    expect(diff.operations).toEqual([{ op: "replace", path: "", from: "", value: zeros.map(() => 1) }]);
    for (let i = 0; i < 20; i++) await c.set({ key: `huge/${i}`, value: "v".repeat(250_000), message });
    const changes = await c.listChanges({ prefix: "huge", limit: 500 });
    expect(changes.entries.length).toBeGreaterThan(0);
    expect(changes.entries.length).toBeLessThan(20);
    expect(changes.nextPageToken).not.toBe("");
  });
});
