import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson } from "./run-ctm.js";

let daemon: Daemon;
let A: string;
const written: { revision: number; time: string }[] = [];
beforeAll(async () => {
  daemon = await Daemon.start();
  A = daemon.address;
  for (const v of ["10", "20", "30"]) {
    const r = await ctmJson(A, ["set", "db.pool_size", v]);
    written.push(r.entry);
    await new Promise((res) => setTimeout(res, 20));
  }
  await ctm(A, ["set", "db.timeout", "5"]);
  await ctm(A, ["set", "web.port", "8080"]);
});
afterAll(() => daemon?.dispose());

describe("ctm at", () => {
  it("answers the value at a time (RFC 3339) and at a revision", async () => {
    const atTime = await ctmJson(A, ["at", written[1]!.time, "db.pool_size"]);
    expect(atTime.entry).toMatchObject({ value: 20, version: 2 });
    expect(atTime.revision).toBe(written[1]!.revision);
    const atRev = await ctmJson(A, ["at", "--revision", String(written[0]!.revision), "db.pool_size"]);
    expect(atRev.entry).toMatchObject({ value: 10, version: 1 });
  });

  it("prints the entry with the revision it resolved to", async () => {
    const r = await ctm(A, ["at", "--revision", String(written[2]!.revision), "db.pool_size"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^as of\s+revision \d+$/m);
    expect(r.stdout).toMatch(/^value\s+30$/m);
  });

  it("takes minutes-only times; before the first record is OUT_OF_RANGE (11)", async () => {
    const r = await ctm(A, ["at", "2001-01-15T03:47Z", "db.pool_size"]);
    expect(r.code).toBe(11);
    expect(r.stderr).toMatch(/^ctm: OUT_OF_RANGE: /);
    const future = await ctm(A, ["at", "--revision", "9999", "db.pool_size"]);
    expect(future.code).toBe(11);
  });

  it("a key that did not exist yet is NOT_FOUND; argument mistakes are usage errors", async () => {
    expect((await ctm(A, ["at", "--revision", String(written[0]!.revision), "web.port"])).code).toBe(5);
    expect((await ctm(A, ["at", "db.pool_size"])).code).toBe(2);
    expect((await ctm(A, ["at", "--revision", "1", "now", "db.pool_size"])).code).toBe(2);
    expect((await ctm(A, ["at", "2026-02-30T00:00Z", "db.pool_size"])).code).toBe(2);
  });
});

describe("ctm snapshot", () => {
  it("lists live keys under a prefix in a table, now and at a revision", async () => {
    const r = await ctm(A, ["snapshot", "db."]);
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("│") && !l.includes(" key "));
    expect(rows.map((l) => l.split("│").map((c) => c.trim())[1])).toEqual(["db.pool_size", "db.timeout"]);
    expect(rows[0]).toContain("30");
    expect(r.stdout).toMatch(/2 keys at revision \d+/);
    const past = await ctmJson(A, ["snapshot", "--revision", String(written[1]!.revision)]);
    expect(past.entries.map((e: { key: string; value: unknown }) => [e.key, e.value])).toEqual([["db.pool_size", 20]]);
    expect(past.revision).toBe(written[1]!.revision);
  });

  it("--at a time, and everything without a prefix", async () => {
    const at = await ctmJson(A, ["snapshot", "--at", written[0]!.time]);
    expect(at.entries).toHaveLength(1);
    const all = await ctmJson(A, ["snapshot"]);
    expect(all.entries.map((e: { key: string }) => e.key)).toEqual(["db.pool_size", "db.timeout", "web.port"]);
    expect((await ctm(A, ["snapshot", "--at", "now", "--revision", "1"])).code).toBe(2);
  });
});
