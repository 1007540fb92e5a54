import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson } from "./run-ctm.js";

let daemon: Daemon;
let A: string;
beforeAll(async () => {
  daemon = await Daemon.start();
  A = daemon.address;
});
afterAll(() => daemon?.dispose());

const ESC = "\x1b[";

describe("ctm set, get, delete", () => {
  it("set writes JSON values and get --json answers the proto JSON of GetResponse", async () => {
    const set = await ctmJson(A, ["set", "db.pool_size", "20", "-m", "more connections"]);
    expect(set.entry).toMatchObject({ key: "db.pool_size", value: 20, version: 1, author: "tester", message: "more connections", kind: "RECORD_KIND_SET" });
    await ctm(A, ["set", "db.pool_size", '{"max":30,"min":2}', "--author", "ana"]);
    const got = await ctmJson(A, ["get", "db.pool_size"]);
    expect(got.entry).toMatchObject({ value: { max: 30, min: 2 }, version: 2, author: "ana" });
    expect(got.header.revision).toBe(got.entry.revision);
    expect(got.reason).toBe("REASON_STATIC");
  });

  it("get prints aligned fields for people, without colors when stdout is not a terminal", async () => {
    await ctm(A, ["set", "human.get", '{"a":[1,2]}', "-m", "hello there"]);
    const r = await ctm(A, ["get", "human.get"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^key\s+human\.get$/m);
    expect(r.stdout).toMatch(/^version\s+1 \(revision \d+\)$/m);
    expect(r.stdout).toMatch(/^author\s+tester$/m);
    expect(r.stdout).toMatch(/^message\s+hello there$/m);
    expect(r.stdout).toContain('"a": [');
    expect(r.stdout).not.toContain(ESC);
  });

  it("set --string takes the text as a string; a non-JSON value without it is INVALID_ARGUMENT (3)", async () => {
    const s = await ctmJson(A, ["set", "greeting", "hello world", "--string"]);
    expect(s.entry.value).toBe("hello world");
    const bad = await ctm(A, ["set", "greeting", "hello"]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^ctm: INVALID_ARGUMENT: value: "hello" is not JSON/);
    expect((await ctmJson(A, ["get", "greeting"])).entry.version).toBe(1);
  });

  it("a missing key exits 5 with one line: ctm: NOT_FOUND: key \"x\" does not exist", async () => {
    const r = await ctm(A, ["get", "no.such.key"]);
    expect(r).toEqual({ code: 5, stdout: "", stderr: 'ctm: NOT_FOUND: key "no.such.key" does not exist\n' });
  });

  it("a key the daemon rejects exits 3 with its message naming the field", async () => {
    const r = await ctm(A, ["set", "bad key!", "1"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ctm: INVALID_ARGUMENT: key: /);
  });

  it("--expect-version: a match writes, a mismatch exits 10 (ABORTED) and writes nothing", async () => {
    await ctm(A, ["set", "cas.key", "1"]);
    const ok = await ctmJson(A, ["set", "cas.key", "2", "--expect-version", "1"]);
    expect(ok.entry.version).toBe(2);
    const r = await ctm(A, ["set", "cas.key", "3", "--expect-version", "1"]);
    expect(r.code).toBe(10);
    expect(r.stderr).toBe('ctm: ABORTED: expected_version 1 does not match the current version 2 of "cas.key"\n');
    const fresh = await ctm(A, ["set", "cas.key", "3", "--expect-version", "0"]);
    expect(fresh.code).toBe(10);
    expect((await ctmJson(A, ["get", "cas.key"])).entry).toMatchObject({ value: 2, version: 2 });
  });

  it("delete writes a tombstone; get is then NOT_FOUND; a stale --expect-version is ABORTED", async () => {
    await ctm(A, ["set", "del.key", "true"]);
    expect((await ctm(A, ["delete", "del.key", "--expect-version", "7"])).code).toBe(10);
    const d = await ctm(A, ["delete", "del.key", "-m", "retire"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/deleted del\.key v2 \(revision \d+\)/);
    expect((await ctm(A, ["get", "del.key"])).code).toBe(5);
    expect((await ctm(A, ["delete", "del.key"])).code).toBe(5);
  });
});

describe("ctm history, diff, blame, rollback", () => {
  beforeAll(async () => {
    await ctm(A, ["set", "payments/fee", '{"pct":1.5,"cap":30}', "-m", "launch"]);
    await ctm(A, ["set", "payments/fee", '{"pct":1.4,"cap":30,"floor":1}', "-m", "lower fee", "--author", "bo"]);
    await ctm(A, ["set", "payments/fee", '{"pct":1.2,"cap":30,"floor":1}', "-m", "lower again"]);
  });

  it("history prints a table: version, revision, time, author, kind, message", async () => {
    const r = await ctm(A, ["history", "payments/fee"]);
    expect(r.code).toBe(0);
    const header = r.stdout.split("\n").find((l) => l.includes("version"))!;
    expect(header.split("│").map((c) => c.trim()).filter(Boolean)).toEqual(["version", "revision", "time", "author", "kind", "message", "value"]);
    const row = r.stdout.split("\n").find((l) => l.includes("lower fee"))!;
    const cells = row.split("│").map((c) => c.trim());
    expect(cells).toContain("2");
    expect(cells).toContain("bo");
    expect(cells).toContain("SET");
    expect(cells.some((c) => /^\d{4}-\d\d-\d\dT/.test(c))).toBe(true);
  });

  it("history --json lists newest first and --limit follows pages", async () => {
    const all = await ctmJson(A, ["history", "payments/fee"]);
    expect(all.entries.map((e: { version: number }) => e.version)).toEqual([3, 2, 1]);
    const two = await ctmJson(A, ["history", "payments/fee", "--limit", "2"]);
    expect(two.entries.map((e: { message: string }) => e.message)).toEqual(["lower again", "lower fee"]);
    expect(two.nextPageToken).toBeTruthy();
  });

  it("diff --patch prints the RFC 6902 patch; --json the DiffResponse", async () => {
    const r = await ctm(A, ["diff", "payments/fee", "--from", "1", "--to", "2", "--patch"]);
    expect(r.code).toBe(0);
    const ops = JSON.parse(r.stdout) as { op: string; path: string; value?: unknown }[];
    expect(ops).toEqual(expect.arrayContaining([{ op: "replace", path: "/pct", value: 1.4 }, { op: "add", path: "/floor", value: 1 }]));
    expect(ops).toHaveLength(2);
    const j = await ctmJson(A, ["diff", "payments/fee"]);
    expect([j.from.version, j.to.version]).toEqual([2, 3]);
    expect(j.operations).toEqual([{ op: "replace", path: "/pct", value: 1.2 }]);
  });

  it("diff prints the two versions side by side, changed lines marked", async () => {
    const r = await ctm(A, ["diff", "payments/fee", "--from", "1", "--to", "2"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^--- v1 \(rev \d+, tester, \S+\)$/);
    expect(lines[1]).toMatch(/^\+\+\+ v2 \(rev \d+, bo, \S+\)$/);
    expect(lines.find((l) => l.includes('"pct": 1.5'))).toMatch(/"pct": 1\.5,\s+\|\s+"pct": 1\.4,/);
    expect(lines.find((l) => l.includes('"floor"'))).toMatch(/^\s+>\s+"floor": 1$/);
    expect(r.stdout).not.toContain(ESC);
  });

  it("diff colors removed lines red and added lines green when colors are forced", async () => {
    const r = await ctm(A, ["diff", "payments/fee", "--from", "1", "--to", "2"], { FORCE_COLOR: "1" });
    expect(r.stdout).toContain(`${ESC}31m  "pct": 1.5,`);
    expect(r.stdout).toContain(`${ESC}32m  "pct": 1.4,`);
    const plain = await ctm(A, ["diff", "payments/fee", "--from", "1", "--to", "2"], { FORCE_COLOR: "1", NO_COLOR: "1" });
    expect(plain.stdout).not.toContain(ESC);
  });

  it("blame attributes each leaf to the version that set it", async () => {
    const j = await ctmJson(A, ["blame", "payments/fee"]);
    const by = Object.fromEntries(j.lines.map((l: { path: string; version: number }) => [l.path, l.version]));
    expect(by).toEqual({ "/pct": 3, "/cap": 1, "/floor": 2 });
    const r = await ctm(A, ["blame", "payments/fee"]);
    const row = r.stdout.split("\n").find((l) => l.includes("/floor"))!;
    expect(row.split("│").map((c) => c.trim())).toEqual(expect.arrayContaining(["/floor", "1", "2", "bo", "lower fee"]));
  });

  it("blame --path narrows to a subtree; a value with more leaves than an answer says so on stderr", async () => {
    await ctm(A, ["set", "bl.key", '{"db":{"pool":1,"host":"a"},"ttl":5}', "-m", "first"]);
    await ctm(A, ["set", "bl.key", '{"db":{"pool":2,"host":"a"},"ttl":5}', "-m", "pool"]);
    const j = await ctmJson(A, ["blame", "bl.key", "--path", "/db"]);
    expect(j.lines.map((l: { path: string; version: string }) => [l.path, Number(l.version)])).toEqual([
      ["/db/pool", 2],
      ["/db/host", 1],
    ]);
    const missing = await ctm(A, ["blame", "bl.key", "--path", "/nope"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^ctm: INVALID_ARGUMENT: path: /);
    await ctm(A, ["set", "bl.wide", JSON.stringify(Array.from({ length: 12_000 }, (_, i) => i))]);
    const wide = await ctm(A, ["blame", "bl.wide"]);
    expect(wide.code).toBe(0);
    expect(wide.stderr).toContain("10000 leaves shown, up to /9999; more follow: narrow with --path");
  });

  it("rollback restores the previous version, or --to-version, as a new version", async () => {
    await ctm(A, ["set", "rb.key", '"a"']);
    await ctm(A, ["set", "rb.key", '"b"']);
    await ctm(A, ["set", "rb.key", '"c"']);
    const back = await ctmJson(A, ["rollback", "rb.key", "-m", "bad change"]);
    expect(back.entry).toMatchObject({ value: "b", version: 4, kind: "RECORD_KIND_ROLLBACK", rolledBackTo: 2, message: "bad change" });
    const human = await ctm(A, ["rollback", "rb.key", "--to-version", "1"]);
    expect(human.stdout).toMatch(/rolled back to v1: rb\.key v5/);
    const restored = (await ctmJson(A, ["get", "rb.key"])).entry;
    expect(restored.value).toBe("a");
    // The tables and the watch line name the version a rollback restored, as `get` does.
    const kinds = (await ctm(A, ["history", "rb.key"])).stdout.split("\n").filter((l) => l.includes("ROLLBACK"));
    expect(kinds.map((l) => l.split("│").map((c) => c.trim())[5])).toEqual(["ROLLBACK to v1", "ROLLBACK to v2"]);
    expect((await ctm(A, ["log", "rb.", "-n", "1"])).stdout).toMatch(/│ ROLLBACK to v1 +│/);
    expect((await ctm(A, ["watch", "rb.key", "--from", String(restored.revision), "--count", "1"])).stdout).toMatch(/ ROLLBACK to v1 +rb\.key v5 "a"/);
    const future = await ctm(A, ["rollback", "rb.key", "--to-version", "99"]);
    expect(future.code).toBe(3);
    expect(future.stderr).toMatch(/^ctm: INVALID_ARGUMENT: to_version: /);
  });

  it("rollback with nothing to return to exits 9 (FAILED_PRECONDITION)", async () => {
    await ctm(A, ["set", "rb.single", "1"]);
    const r = await ctm(A, ["rollback", "rb.single"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/^ctm: FAILED_PRECONDITION: /);
  });
});
