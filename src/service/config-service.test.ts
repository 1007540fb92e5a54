import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { CtmError, type ErrorCode } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import { LIMITS } from "../domain/limits.js";
import type { LogRecord } from "@ctm/core/record";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "../watch/watch-hub.js";
import { ConfigService } from "./config-service.js";
import { encodePageToken } from "./page-token.js";

const T0 = Date.UTC(2024, 0, 1);

let dir: string;
let clock: ManualClock;
let store: LevelLogStore;
let hub: WatchHub;
let svc: ConfigService;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-service-"));
  clock = new ManualClock(T0);
  store = new LevelLogStore(dir, clock);
  await store.open();
  hub = new WatchHub(store);
  svc = new ConfigService(store, hub, clock);
});
afterEach(async () => {
  hub.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Awaits `p` (or calls it), which must fail with a CtmError of `code`; checks nothing was written. */
async function expectError(p: Promise<unknown> | (() => unknown), code: ErrorCode, field?: string): Promise<CtmError> {
  const head = store.headRevision;
  let caught: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected an error").toBeInstanceOf(CtmError);
  const err = caught as CtmError;
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  if (field !== undefined) expect(err.field).toBe(field);
  expect(store.headRevision, "a rejected request writes nothing").toBe(head);
  return err;
}

const setv = (key: string, value: JsonValue, extra: { expectedVersion?: number; author?: string; message?: string } = {}): Promise<LogRecord> =>
  svc.set({ key, value, ...extra });

describe("set and get", () => {
  it("writes a versioned, authored record and reads it back", async () => {
    const r = await svc.set({ key: "db.pool_size", value: 20, author: "alice", message: "more connections" });
    expect(r).toMatchObject({
      revision: 1,
      key: "db.pool_size",
      version: 1,
      value: 20,
      deleted: false,
      time: T0,
      author: "alice",
      message: "more connections",
      kind: "set",
      cause: "api",
    });
    expect(svc.get("db.pool_size")).toEqual(r);
    const r2 = await setv("db.pool_size", { max: 30 });
    expect(r2).toMatchObject({ revision: 2, version: 2, value: { max: 30 }, author: "anonymous", message: "" });
    expect(svc.get("db.pool_size")).toEqual(r2);
    expect(svc.headRevision).toBe(2);
  });

  it("get of an unknown key is not_found", async () => {
    await expectError(() => svc.get("missing"), "not_found");
  });

  it("rejects bad input and writes nothing", async () => {
    await expectError(setv("", 1), "invalid_argument", "key");
    await expectError(setv("bad key", 1), "invalid_argument", "key");
    await expectError(svc.set({ key: "k", value: undefined }), "invalid_argument", "value");
    await expectError(setv("k", NaN), "invalid_argument", "value");
    await expectError(setv("k", { nested: [Infinity] }), "invalid_argument", "value");
    await expectError(setv("k", "x".repeat(LIMITS.valueBytes)), "invalid_argument", "value");
    await expectError(setv("k", 1, { author: "a".repeat(LIMITS.authorChars + 1) }), "invalid_argument", "author");
    await expectError(setv("k", 1, { message: "m".repeat(LIMITS.messageChars + 1) }), "invalid_argument", "message");
    await expectError(setv("k", 1, { expectedVersion: -1 }), "invalid_argument", "expected_version");
    expect(store.headRevision).toBe(0);
  });
});

describe("delete", () => {
  it("appends a tombstone; the key counts on from there", async () => {
    await setv("k", 1);
    const d = await svc.delete({ key: "k", author: "bob", message: "gone" });
    expect(d).toMatchObject({ revision: 2, version: 2, deleted: true, kind: "delete", author: "bob", message: "gone" });
    expect(Object.hasOwn(d, "value")).toBe(false);
    await expectError(() => svc.get("k"), "not_found");
    const again = await setv("k", 3);
    expect(again).toMatchObject({ version: 3, value: 3 });
  });

  it("of a missing or already deleted key is not_found and writes nothing", async () => {
    await expectError(svc.delete({ key: "missing" }), "not_found");
    await setv("k", 1);
    await svc.delete({ key: "k" });
    await expectError(svc.delete({ key: "k" }), "not_found");
  });
});

describe("expected_version (compare-and-set)", () => {
  it("0 means create-only; a mismatch is a conflict that writes nothing", async () => {
    await setv("k", 1, { expectedVersion: 0 });
    const err = await expectError(setv("k", 2, { expectedVersion: 0 }), "conflict", "expected_version");
    expect(err.details).toEqual({ expected: 0, actual: 1 });
    await setv("k", 2, { expectedVersion: 1 });
    await expectError(setv("k", 3, { expectedVersion: 1 }), "conflict", "expected_version");
    await expectError(setv("k", 3, { expectedVersion: 5 }), "conflict", "expected_version");
    expect(svc.get("k")).toMatchObject({ version: 2, value: 2 });
  });

  it("applies to delete and rollback too", async () => {
    await setv("k", 1);
    await setv("k", 2);
    await expectError(svc.delete({ key: "k", expectedVersion: 1 }), "conflict", "expected_version");
    await expectError(svc.rollback({ key: "k", expectedVersion: 1 }), "conflict", "expected_version");
    await svc.rollback({ key: "k", expectedVersion: 2 });
    await svc.delete({ key: "k", expectedVersion: 3 });
  });

  it("a deleted key is at version 0 again", async () => {
    await setv("k", 1);
    await svc.delete({ key: "k" });
    await expectError(setv("k", 2, { expectedVersion: 2 }), "conflict", "expected_version");
    const r = await setv("k", 2, { expectedVersion: 0 });
    expect(r.version).toBe(3);
  });

  it("only one of many concurrent create-only sets wins", async () => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => setv("k", i, { expectedVersion: 0 })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect((r.reason as CtmError).code).toBe("conflict");
    expect(store.headRevision).toBe(1);
  });
});

describe("history", () => {
  it("pages newest first with opaque tokens, each record exactly once", async () => {
    for (let i = 1; i <= 25; i++) {
      await setv("k", i);
      await setv("noise", i);
      if (i === 12) await svc.delete({ key: "k" });
    }
    const p1 = await svc.history("k", 10, "");
    expect(p1.records.map((r) => r.version)).toEqual([26, 25, 24, 23, 22, 21, 20, 19, 18, 17]);
    expect(p1.nextPageToken).not.toBe("");
    const p2 = await svc.history("k", 10, p1.nextPageToken);
    expect(p2.records.map((r) => r.version)).toEqual([16, 15, 14, 13, 12, 11, 10, 9, 8, 7]);
    expect(p2.records.find((r) => r.version === 13)).toMatchObject({ deleted: true });
    const p3 = await svc.history("k", 10, p2.nextPageToken);
    expect(p3.records.map((r) => r.version)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(p3.nextPageToken).toBe("");
    expect([...p1.records, ...p2.records, ...p3.records].every((r) => r.key === "k")).toBe(true);
  });

  it("ends a page before about 1 MiB of values, so no page is too big to encode or receive", async () => {
    const big = "x".repeat(200 * 1024);
    for (let i = 0; i < 12; i++) await setv("big", `${i}${big}`);
    const seen: number[] = [];
    let token = "";
    do {
      const page = await svc.history("big", 100, token);
      expect(page.records.length).toBeGreaterThan(0);
      expect(page.records.reduce((n, r) => n + JSON.stringify(r.value).length, 0)).toBeLessThanOrEqual(LIMITS.historyPageBytes);
      seen.push(...page.records.map((r) => r.version));
      token = page.nextPageToken;
    } while (token !== "");
    // Five 200 KiB values fit under 1 MiB; every version comes once, in order.
    expect(seen).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it("counts messages in that budget: 600 versions with 4096-character messages come in pages of about 1 MiB", async () => {
    const message = "m".repeat(LIMITS.messageChars);
    for (let i = 0; i < 600; i++) await svc.set({ key: "chatty", value: i, author: "a", message });
    const first = await svc.history("chatty", 1000, "");
    // 600 messages of 4 KiB are 2.4 MiB: about 250 of them fit.
    expect(first.records.length).toBeGreaterThan(200);
    expect(first.records.length).toBeLessThan(260);
    expect(first.nextPageToken).not.toBe("");
  });

  it("ends without an empty page when the history fills pages exactly", async () => {
    for (let i = 0; i < 20; i++) await setv("k", i);
    const p1 = await svc.history("k", 10, "");
    const p2 = await svc.history("k", 10, p1.nextPageToken);
    expect(p2.records).toHaveLength(10);
    expect(p2.nextPageToken).toBe("");
  });

  it("limit 0 means the default page size; large limits are capped", async () => {
    for (let i = 0; i < LIMITS.historyDefault + 5; i++) await setv("k", i);
    const page = await svc.history("k", 0, "");
    expect(page.records).toHaveLength(LIMITS.historyDefault);
    expect(page.nextPageToken).not.toBe("");
    const all = await svc.history("k", LIMITS.historyMax * 10, "");
    expect(all.records).toHaveLength(LIMITS.historyDefault + 5);
    expect(all.nextPageToken).toBe("");
  });

  it("lists a deleted key's history; rejects unknown keys, bad tokens and bad limits", async () => {
    await setv("k", 1);
    await svc.delete({ key: "k" });
    expect((await svc.history("k", 10, "")).records.map((r) => r.version)).toEqual([2, 1]);
    await expectError(svc.history("missing", 10, ""), "not_found");
    await expectError(svc.history("k", 10, "garbage"), "invalid_argument", "page_token");
    await expectError(svc.history("k", 10, encodePageToken(0)), "invalid_argument", "page_token");
    await expectError(svc.history("k", -1, ""), "invalid_argument", "limit");
    await expectError(svc.history("k", 1.5, ""), "invalid_argument", "limit");
  });
});

describe("diff", () => {
  it("returns RFC 6902 operations between versions", async () => {
    await setv("k", { a: 1 });
    await setv("k", { a: 2, b: [1] });
    await svc.delete({ key: "k" });
    await setv("k", "scalar");

    const d12 = await svc.diff("k", 1, 2);
    expect(d12.from).toMatchObject({ version: 1 });
    expect(d12.to).toMatchObject({ version: 2 });
    expect(d12.ops).toHaveLength(2);
    expect(d12.ops).toEqual(expect.arrayContaining([{ op: "replace", path: "/a", value: 2 }, { op: "add", path: "/b", value: [1] }]));
    expect((await svc.diff("k", 2, 3)).ops).toEqual([{ op: "remove", path: "" }]);
    expect((await svc.diff("k", 1, 4)).ops).toEqual([{ op: "replace", path: "", value: "scalar" }]);
    expect((await svc.diff("k", 2, 1)).ops).toEqual(expect.arrayContaining([{ op: "replace", path: "/a", value: 1 }, { op: "remove", path: "/b" }]));
    expect((await svc.diff("k", 2, 2)).ops).toEqual([]);
  });

  it("defaults: to = latest, from = the version before to; version 1 diffs against nothing", async () => {
    await setv("k", { a: 1 });
    await setv("k", { a: 2 });
    await svc.delete({ key: "k" });
    await setv("k", { a: 3 });
    const latest = await svc.diff("k", 0, 0);
    expect(latest.from).toMatchObject({ version: 3, deleted: true });
    expect(latest.to).toMatchObject({ version: 4 });
    expect(latest.ops).toEqual([{ op: "add", path: "", value: { a: 3 } }]);
    const first = await svc.diff("k", 0, 1);
    expect(first.from).toBeUndefined();
    expect(first.ops).toEqual([{ op: "add", path: "", value: { a: 1 } }]);
    expect((await svc.diff("k", 0, 2)).ops).toEqual([{ op: "replace", path: "/a", value: 2 }]);
    expect((await svc.diff("k", 1, 0)).ops).toEqual([{ op: "replace", path: "/a", value: 3 }]);
  });

  it("rejects unknown keys and versions", async () => {
    await setv("k", 1);
    await expectError(svc.diff("missing", 0, 0), "not_found");
    await expectError(svc.diff("k", 0, 2), "not_found");
    await expectError(svc.diff("k", 5, 1), "not_found");
    await expectError(svc.diff("k", -1, 1), "invalid_argument", "from_version");
  });
});

describe("diff bounds", () => {
  it("a patch of more than 10,000 operations is one replace of the whole value", async () => {
    await setv("arr", Array.from({ length: 20_000 }, () => 0));
    await setv("arr", Array.from({ length: 20_000 }, () => 1));
    const { ops, to } = await svc.diff("arr", 0, 0);
    expect(ops).toEqual([{ op: "replace", path: "", value: to.value }]);
    await setv("arr", Array.from({ length: 20_000 }, (_, i) => (i === 3 ? 2 : 1)));
    expect((await svc.diff("arr", 0, 0)).ops).toEqual([{ op: "replace", path: "/3", value: 2 }]);
  });
});

describe("blame", () => {
  it("attributes each leaf to the version that last changed it", async () => {
    await setv("k", { a: 1, b: 1 }, { author: "ann" });
    await setv("k", { a: 2, b: 1 }, { author: "ben" });
    await setv("other", 1);
    await setv("k", { a: 2, b: 1, c: 3 }, { author: "cid" });
    const { record, lines } = await svc.blame("k");
    expect(record).toMatchObject({ version: 3 });
    expect(Object.fromEntries(lines.map((l) => [l.path, [l.value, l.record.version, l.record.author]]))).toEqual({
      "/a": [2, 2, "ben"],
      "/b": [1, 1, "ann"],
      "/c": [3, 3, "cid"],
    });
  });

  it("does not look past a delete, and a deleted key is not_found", async () => {
    await setv("k", { a: 1 });
    await svc.delete({ key: "k" });
    await expectError(svc.blame("k"), "not_found");
    await setv("k", { a: 1 });
    const { lines } = await svc.blame("k");
    expect(lines.map((l) => [l.path, l.record.version])).toEqual([["/a", 3]]);
    await expectError(svc.blame("missing"), "not_found");
  });

  it("blames the leaves under a path; a path that names nothing, or is no JSON Pointer, is invalid_argument", async () => {
    await setv("k", { db: { pool: 1, host: "a" }, ttl: 5 }, { author: "ann" });
    await setv("k", { db: { pool: 2, host: "a" }, ttl: 5 }, { author: "ben" });
    const { lines, truncated } = await svc.blame("k", "/db");
    expect(lines.map((l) => [l.path, l.record.author])).toEqual([
      ["/db/pool", "ben"],
      ["/db/host", "ann"],
    ]);
    expect(truncated).toBe(false);
    await expectError(svc.blame("k", "/nope"), "invalid_argument", "path");
    await expectError(svc.blame("k", "db"), "invalid_argument", "path");
    await expectError(svc.blame("k", "/db~2"), "invalid_argument", "path");
    await expectError(svc.blame("k", `/${"x".repeat(LIMITS.pointerChars)}`), "invalid_argument", "path");
  });

  it("lists at most 10,000 lines and about 1 MiB of them, the first in document order, and says it is truncated", async () => {
    await setv("wide", Array.from({ length: 30_000 }, (_, i) => i), { message: "short" });
    const many = await svc.blame("wide");
    expect(many.lines).toHaveLength(LIMITS.blameLines);
    expect(many.lines[LIMITS.blameLines - 1]!.path).toBe(`/${LIMITS.blameLines - 1}`);
    expect(many.truncated).toBe(true);
    // Every line repeats its version's 4096-character message: about 250 lines make 1 MiB.
    await setv("chatty", Array.from({ length: 1000 }, (_, i) => i), { message: "m".repeat(LIMITS.messageChars) });
    const chatty = await svc.blame("chatty");
    expect(chatty.lines.length).toBeGreaterThan(200);
    expect(chatty.lines.length).toBeLessThan(300);
    expect(chatty.truncated).toBe(true);
    const narrowed = await svc.blame("chatty", "/999");
    expect([narrowed.lines.map((l) => l.path), narrowed.truncated]).toEqual([["/999"], false]);
  });
});

describe("rollback", () => {
  it("by default restores the previous version as a new version", async () => {
    await setv("k", 10);
    await setv("k", 20);
    const r = await svc.rollback({ key: "k", author: "ops", message: "bad deploy" });
    expect(r).toMatchObject({ revision: 3, version: 3, value: 10, deleted: false, kind: "rollback", rolledBackTo: 1, author: "ops", message: "bad deploy" });
    expect(svc.get("k")).toEqual(r);
    // History is not rewritten.
    expect((await svc.history("k", 10, "")).records.map((x) => x.value)).toEqual([10, 20, 10]);
  });

  it("restores an explicit version", async () => {
    for (const v of ["a", "b", "c", "d"]) await setv("k", v);
    const r = await svc.rollback({ key: "k", toVersion: 2 });
    expect(r).toMatchObject({ version: 5, value: "b", rolledBackTo: 2 });
  });

  it("to a tombstone deletes the key", async () => {
    await setv("k", 1);
    await svc.delete({ key: "k" });
    await setv("k", 3);
    const r = await svc.rollback({ key: "k", toVersion: 2 });
    expect(r).toMatchObject({ version: 4, deleted: true, kind: "rollback", rolledBackTo: 2 });
    expect(Object.hasOwn(r, "value")).toBe(false);
    await expectError(() => svc.get("k"), "not_found");
  });

  it("of a deleted key restores the value before the delete", async () => {
    await setv("k", { on: true });
    await svc.delete({ key: "k" });
    const r = await svc.rollback({ key: "k" });
    expect(r).toMatchObject({ version: 3, value: { on: true }, rolledBackTo: 1 });
    expect(svc.get("k").value).toEqual({ on: true });
  });

  it("rejects impossible targets and writes nothing", async () => {
    await expectError(svc.rollback({ key: "missing" }), "not_found");
    await setv("k", 1);
    await expectError(svc.rollback({ key: "k" }), "failed_precondition");
    await setv("k", 2);
    await expectError(svc.rollback({ key: "k", toVersion: 2 }), "invalid_argument", "to_version");
    await expectError(svc.rollback({ key: "k", toVersion: 9 }), "invalid_argument", "to_version");
    await expectError(svc.rollback({ key: "k", toVersion: -1 }), "invalid_argument", "to_version");
  });
});

describe("time travel", () => {
  /** rev 1 k=1 @T0 | rev 2 k=2 @T0+1000 | rev 3 k deleted @T0+2000 | rev 4 other=1 @T0+3000; now = T0+4000 */
  async function seed(): Promise<void> {
    await setv("k", 1);
    clock.set(T0 + 1000);
    await setv("k", 2);
    clock.set(T0 + 2000);
    await svc.delete({ key: "k" });
    clock.set(T0 + 3000);
    await setv("other", 1);
    clock.set(T0 + 4000);
  }

  it("getAt by time returns the value as of that time", async () => {
    await seed();
    expect(await svc.getAt("k", { time: T0 })).toMatchObject({ revision: 1, record: { value: 1 } });
    expect(await svc.getAt("k", { time: T0 + 999 })).toMatchObject({ revision: 1, record: { value: 1 } });
    expect(await svc.getAt("k", { time: T0 + 1000 })).toMatchObject({ revision: 2, record: { value: 2 } });
    expect(await svc.getAt("k", { time: T0 + 1500.5 })).toMatchObject({ revision: 2, record: { value: 2 } });
    expect(await svc.getAt("other", { time: T0 + 4000 })).toMatchObject({ revision: 4, record: { value: 1 } });
    // Deleted then: not_found, not the older value.
    await expectError(svc.getAt("k", { time: T0 + 2000 }), "not_found");
    await expectError(svc.getAt("k", { time: T0 + 4000 }), "not_found");
    await expectError(svc.getAt("other", { time: T0 + 2500 }), "not_found");
  });

  it("getAt by revision", async () => {
    await seed();
    expect(await svc.getAt("k", { revision: 1 })).toMatchObject({ revision: 1, record: { value: 1, version: 1 } });
    expect(await svc.getAt("k", { revision: 2 })).toMatchObject({ revision: 2, record: { value: 2 } });
    await expectError(svc.getAt("k", { revision: 3 }), "not_found");
    expect(await svc.getAt("other", { revision: 4 })).toMatchObject({ revision: 4, record: { value: 1 } });
  });

  it("getAt of the same timestamp sees the last record written at it", async () => {
    await setv("k", "first");
    await setv("k", "second");
    expect(await svc.getAt("k", { time: T0 })).toMatchObject({ revision: 2, record: { value: "second" } });
  });

  it("getAt is OUT_OF_RANGE before the first record, in the future, and beyond the head", async () => {
    await seed();
    await expectError(svc.getAt("k", { time: T0 - 1 }), "out_of_range", "at.time");
    await expectError(svc.getAt("k", { time: 0 }), "out_of_range", "at.time");
    await expectError(svc.getAt("k", { time: -86_400_000 }), "out_of_range", "at.time");
    await expectError(svc.getAt("k", { time: clock.now() + 1 }), "out_of_range", "at.time");
    const beyond = await expectError(svc.getAt("k", { revision: 5 }), "out_of_range", "at.revision");
    expect(beyond.details).toMatchObject({ head: 4 });
    await expectError(svc.getAt("k", { revision: 1_000_000 }), "out_of_range", "at.revision");
  });

  it("getAt is OUT_OF_RANGE on an empty store, and rejects malformed points", async () => {
    await expectError(svc.getAt("k", { time: T0 }), "out_of_range");
    await expectError(svc.getAt("k", { revision: 1 }), "out_of_range");
    await seed();
    await expectError(svc.getAt("k", { revision: 0 }), "invalid_argument", "at.revision");
    await expectError(svc.getAt("k", { revision: 1.5 }), "invalid_argument", "at.revision");
    await expectError(svc.getAt("k", { time: NaN }), "invalid_argument", "at.time");
    await expectError(svc.getAt("k", undefined), "invalid_argument", "at");
    await expectError(svc.getAt("bad key", { revision: 1 }), "invalid_argument", "key");
  });

  it("snapshot at a revision or a time lists the live keys under a prefix as they were", async () => {
    await setv("app/a", 1); // 1
    await setv("app/b", 1); // 2
    await setv("other", 1); // 3
    clock.set(T0 + 1000);
    await setv("app/a", 2); // 4
    await svc.delete({ key: "app/b" }); // 5
    await setv("app/c", 1); // 6
    clock.set(T0 + 2000);

    const at3 = await svc.snapshot("app/", { revision: 3 });
    expect(at3.revision).toBe(3);
    expect(at3.records.map((r) => [r.key, r.value])).toEqual([
      ["app/a", 1],
      ["app/b", 1],
    ]);
    const byTime = await svc.snapshot("app/", { time: T0 + 500 });
    expect(byTime).toEqual(at3);
    const at6 = await svc.snapshot("app/", { revision: 6 });
    expect(at6.records.map((r) => [r.key, r.value])).toEqual([
      ["app/a", 2],
      ["app/c", 1],
    ]);
    expect((await svc.snapshot("", { revision: 3 })).records.map((r) => r.key)).toEqual(["app/a", "app/b", "other"]);
    const now = await svc.snapshot("app/", undefined);
    expect(now).toEqual({ revision: 6, records: at6.records, nextPageToken: "" });
    await expectError(svc.snapshot("app/", { revision: 7 }), "out_of_range");
    await expectError(svc.snapshot("app/", { time: T0 - 1 }), "out_of_range");
    await expectError(svc.snapshot("app/", { time: T0 + 2001 }), "out_of_range");
    await expectError(svc.snapshot("bad prefix", undefined), "invalid_argument", "prefix");
  });
});

describe("apply", () => {
  it("writes all operations atomically, in order, with consecutive revisions", async () => {
    await setv("b", 1);
    const rs = await svc.apply(
      [
        { type: "set", key: "a", value: 1, expectedVersion: 0 },
        { type: "delete", key: "b", expectedVersion: 1 },
        { type: "set", key: "c", value: { x: 1 } },
      ],
      { author: "deployer", message: "release 42" },
    );
    expect(rs.map((r) => [r.revision, r.key, r.version, r.kind])).toEqual([
      [2, "a", 1, "set"],
      [3, "b", 2, "delete"],
      [4, "c", 1, "set"],
    ]);
    expect(new Set(rs.map((r) => r.time)).size).toBe(1);
    expect(rs.every((r) => r.author === "deployer" && r.message === "release 42")).toBe(true);
  });

  it("is all-or-nothing: a conflict in operation 3 writes nothing", async () => {
    await setv("c", 1);
    const head = store.headRevision;
    const err = await expectError(
      svc.apply(
        [
          { type: "set", key: "a", value: 1 },
          { type: "set", key: "b", value: 1 },
          { type: "set", key: "c", value: 2, expectedVersion: 7 },
          { type: "set", key: "d", value: 1 },
        ],
        {},
      ),
      "conflict",
      "operations[2].set.expected_version",
    );
    expect(err.details).toEqual({ expected: 7, actual: 1 });
    expect(store.headRevision).toBe(head);
    await expectError(() => svc.get("a"), "not_found");
    await expectError(() => svc.get("b"), "not_found");
    expect(svc.get("c")).toMatchObject({ version: 1, value: 1 });
  });

  it("later operations see earlier ones in the same batch", async () => {
    const rs = await svc.apply(
      [
        { type: "set", key: "k", value: 1, expectedVersion: 0 },
        { type: "set", key: "k", value: 2, expectedVersion: 1 },
        { type: "delete", key: "k", expectedVersion: 2 },
      ],
      {},
    );
    expect(rs.map((r) => r.version)).toEqual([1, 2, 3]);
    await expectError(
      svc.apply(
        [
          { type: "set", key: "n", value: 1, expectedVersion: 0 },
          { type: "set", key: "n", value: 2, expectedVersion: 0 },
        ],
        {},
      ),
      "conflict",
      "operations[1].set.expected_version",
    );
    await expectError(
      svc.apply(
        [
          { type: "set", key: "m", value: 1 },
          { type: "delete", key: "m" },
          { type: "delete", key: "m" },
        ],
        {},
      ),
      "not_found",
    );
  });

  it("rejects invalid operations, naming the field, and writes nothing", async () => {
    await expectError(svc.apply([], {}), "invalid_argument", "operations");
    await expectError(
      svc.apply(
        [
          { type: "set", key: "ok", value: 1 },
          { type: "set", key: "bad key", value: 1 },
        ],
        {},
      ),
      "invalid_argument",
      "operations[1].set.key",
    );
    await expectError(
      svc.apply(
        [
          { type: "set", key: "ok", value: 1 },
          { type: "set", key: "v", value: NaN },
        ],
        {},
      ),
      "invalid_argument",
      "operations[1].set.value",
    );
    await expectError(svc.apply([{ type: "delete", key: "missing" }], {}), "not_found");
    const tooMany = Array.from({ length: LIMITS.applyOperations + 1 }, (_, i) => ({ type: "set" as const, key: `k${i}`, value: i }));
    await expectError(svc.apply(tooMany, {}), "invalid_argument", "operations");
    expect(store.headRevision).toBe(0);
  });
});

describe("rollbackPrefix", () => {
  it("restores changed keys, deletes keys created since, leaves unchanged keys alone", async () => {
    // As of revision R:
    await setv("app/changed", 1);
    await setv("app/same", 1);
    await setv("app/deleted", 3);
    await setv("app/revived", 1);
    await svc.delete({ key: "app/revived" });
    await setv("app/flipflop", 1);
    await setv("outside", 1);
    const R = store.headRevision;
    clock.advance(1000);
    // Since then:
    await setv("app/changed", 10);
    await svc.delete({ key: "app/deleted" });
    await setv("app/revived", 4);
    await setv("app/new", 1);
    await setv("app/born-and-gone", 1);
    await svc.delete({ key: "app/born-and-gone" });
    await setv("app/flipflop", 2);
    await setv("app/flipflop", 1);
    await setv("outside", 2);
    const before = store.headRevision;

    const { revision, records } = await svc.rollbackPrefix("app/", { revision: R }, { author: "ops", message: "undo" });
    expect(revision).toBe(R);
    expect(records.map((r) => r.key)).toEqual(["app/changed", "app/deleted", "app/new", "app/revived"]);
    expect(records.map((r) => r.revision)).toEqual([before + 1, before + 2, before + 3, before + 4]);
    expect(records.every((r) => r.kind === "rollback" && r.author === "ops" && r.message === "undo")).toBe(true);
    expect(svc.get("app/changed")).toMatchObject({ value: 1, rolledBackTo: 1 });
    expect(svc.get("app/deleted")).toMatchObject({ value: 3, rolledBackTo: 1 });
    expect(store.latest("app/new")).toMatchObject({ deleted: true });
    expect(store.latest("app/new")?.rolledBackTo).toBeUndefined();
    expect(store.latest("app/revived")).toMatchObject({ deleted: true, rolledBackTo: 2 });
    // Untouched: unchanged, equal-again, and already-gone keys, and everything outside the prefix.
    expect(svc.get("app/same")).toMatchObject({ version: 1 });
    expect(svc.get("app/flipflop")).toMatchObject({ version: 3, value: 1 });
    expect(store.latest("app/born-and-gone")).toMatchObject({ version: 2, kind: "delete" });
    expect(svc.get("outside")).toMatchObject({ value: 2 });

    // The prefix now looks as it did at R.
    const then = await svc.snapshot("app/", { revision: R });
    const now = await svc.snapshot("app/", undefined);
    expect(now.records.map((r) => [r.key, r.value])).toEqual(then.records.map((r) => [r.key, r.value]));

    // Doing it again changes nothing and writes nothing.
    const again = await svc.rollbackPrefix("app/", { revision: R }, {});
    expect(again.records).toEqual([]);
    expect(store.headRevision).toBe(before + 4);
  });

  it("takes a time, and is OUT_OF_RANGE for times before the log or revisions beyond it", async () => {
    await setv("p/a", 1);
    clock.advance(1000);
    const t = clock.now();
    await setv("p/a", 2);
    await setv("p/b", 2);
    clock.advance(1000);
    const { revision, records } = await svc.rollbackPrefix("p/", { time: t - 1 }, {});
    expect(revision).toBe(1);
    expect(records.map((r) => [r.key, r.deleted, r.value])).toEqual([
      ["p/a", false, 1],
      ["p/b", true, undefined],
    ]);
    await expectError(svc.rollbackPrefix("p/", { time: T0 - 1 }, {}), "out_of_range");
    await expectError(svc.rollbackPrefix("p/", { revision: 99 }, {}), "out_of_range");
    await expectError(svc.rollbackPrefix("p/", undefined, {}), "invalid_argument", "to");
  });

  it("writes nothing when nothing under the prefix changed", async () => {
    await setv("p/a", 1);
    await setv("q/a", 1);
    const R = store.headRevision;
    await setv("q/a", 2);
    const before = store.headRevision;
    const res = await svc.rollbackPrefix("p/", { revision: R }, {});
    expect(res.records).toEqual([]);
    expect(store.headRevision).toBe(before);
  });
});

describe("rollbackPrefix over a large prefix", () => {
  it("restores every key in one run of revisions, in key order, while Gets and other writes wait their turn", async () => {
    const N = 2500;
    const key = (i: number): string => `big/${String(i).padStart(5, "0")}`;
    // Written in reverse, so that key order is not the order the keys were born in.
    for (let b = N; b > 0; b -= 500) await svc.apply(Array.from({ length: 500 }, (_, j) => ({ type: "set" as const, key: key(b - 1 - j), value: { g: 1 } })), {});
    const R = store.headRevision;
    await svc.apply(Array.from({ length: 500 }, (_, j) => ({ type: "set" as const, key: key(j * 5), value: { g: 2 } })), {});
    await svc.set({ key: "big/zz-born-later", value: 1 });
    await svc.set({ key: "big/", value: 1 });

    const rolling = svc.rollbackPrefix("big/", { revision: R }, { author: "ops" });
    // A Get made meanwhile is answered before the rollback is, from the values before it.
    let rolled = false;
    void rolling.then(() => (rolled = true));
    await new Promise((r) => setImmediate(r));
    expect(svc.get(key(0)).value).toEqual({ g: 2 });
    // A Set made meanwhile lands before or after the rollback's run of revisions, never inside it.
    const during = svc.set({ key: key(0), value: { g: 3 } });
    const res = await rolling;
    const set = await during;
    expect(rolled).toBe(true);

    expect(res.restored).toBe(502);
    expect(res.records).toHaveLength(502);
    expect(res.lastRevision - res.firstRevision + 1).toBe(502);
    expect(res.records.map((r) => r.key)).toEqual(["big/", ...Array.from({ length: 500 }, (_, j) => key(j * 5)), "big/zz-born-later"]);
    expect(res.records.map((r) => r.revision)).toEqual(Array.from({ length: 502 }, (_, i) => res.firstRevision + i));
    expect(set.revision < res.firstRevision || set.revision > res.lastRevision).toBe(true);
    expect(svc.get(key(5)).value).toEqual({ g: 1 });
    expect(store.latest("big/zz-born-later")?.deleted).toBe(true);
  });

  it("answers the first records that fit one response, with their count and revisions", async () => {
    const N = 2500;
    const key = (i: number): string => `big/${String(i).padStart(5, "0")}`;
    for (let b = 0; b < N; b += 500) await svc.apply(Array.from({ length: 500 }, (_, j) => ({ type: "set" as const, key: key(b + j), value: 1 })), {});
    const R = store.headRevision;
    for (let b = 0; b < N; b += 500) await svc.apply(Array.from({ length: 500 }, (_, j) => ({ type: "set" as const, key: key(b + j), value: 2 })), {});
    const w = svc.watch("big/", true, store.headRevision + 1);
    const res = await svc.rollbackPrefix("big/", { revision: R }, {});
    expect(res.restored).toBe(N);
    expect(res.records).toHaveLength(LIMITS.rollbackPrefixShown);
    expect(res.records[0]).toMatchObject({ key: key(0), revision: res.firstRevision, value: 1 });
    expect(res.lastRevision).toBe(res.firstRevision + N - 1);
    // The rest are read by watching the prefix from first_revision.
    const seen: LogRecord[] = [];
    while (seen.length < N) seen.push(...((await w.next()).value as LogRecord[]));
    w.close();
    expect(seen.map((r) => r.revision)).toEqual(Array.from({ length: N }, (_, i) => res.firstRevision + i));
    expect(seen.every((r) => r.value === 1 && r.kind === "rollback")).toBe(true);
  });
});

describe("watch", () => {
  it("streams the records a client writes, from a revision it read", async () => {
    const first = await setv("k", 1);
    const w = svc.watch("k", false, first.revision + 1);
    const second = await setv("k", 2);
    expect((await w.next()).value).toEqual([second]);
    w.close();
    expect(() => svc.watch("bad key", false, 0)).toThrow(CtmError);
    expect(() => svc.watch("k", false, -1)).toThrow(CtmError);
  });
});
