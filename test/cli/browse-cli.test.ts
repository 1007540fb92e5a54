import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson } from "./run-ctm.js";

let daemon: Daemon;

beforeAll(async () => {
  daemon = await Daemon.start();
  for (const [key, value, author] of [["app/a", "1", "ana"], ["app/b", "2", "bo"], ["app/a", "3", "bo"], ["other/x", "4", "ana"]] as const) {
    const r = await ctm(daemon.address, ["set", key, value, "--author", author]);
    expect(r.code, r.stderr).toBe(0);
  }
  await ctm(daemon.address, ["get", "app/b"]);
}, 30_000);
afterAll(() => daemon?.dispose());

describe("ctm keys", () => {
  it("lists the live keys with reads, as a table and as JSON", async () => {
    const t = await ctm(daemon.address, ["keys", "app/"]);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.split("\n");
    const cells = (l: string | undefined) => (l ?? "").split("│").slice(1, -1).map((c) => c.trim());
    expect(cells(lines[1])).toEqual(["key", "version", "last change", "by", "rollout", "reads", "last read", "value"]);
    const b = cells(lines.find((l) => l.includes("app/b")));
    expect([b[0], b[1], b[3], b[5], b[7]]).toEqual(["app/b", "1", "bo", "1", "2"]);
    const j = await ctmJson<{ keys: { entry: { key: string; version: number }; reads?: number }[] }>(daemon.address, ["keys", "app/"]);
    expect(j.keys.map((k) => [k.entry.key, k.entry.version, k.reads ?? 0])).toEqual([
      ["app/a", 2, 0],
      ["app/b", 1, 1],
    ]);
  });
});

describe("ctm log", () => {
  it("shows the newest changes across keys, filtered by prefix, author and kind", async () => {
    const j = await ctmJson<{ entries: { key: string; author: string; revision: number }[] }>(daemon.address, ["log", "app/", "--by", "bo"]);
    expect(j.entries.map((e) => [e.key, e.author, e.revision])).toEqual([
      ["app/a", "bo", 3],
      ["app/b", "bo", 2],
    ]);
    const t = await ctm(daemon.address, ["log", "-n", "2"]);
    expect(t.code, t.stderr).toBe(0);
    const rows = t.stdout.split("\n").filter((l) => l.startsWith("│") && !l.includes("revision"));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/│ 4 .*other\/x/);
    const sets = await ctmJson<{ entries: unknown[] }>(daemon.address, ["log", "--kind", "set", "--kind", "rollback"]);
    expect(sets.entries).toHaveLength(4);
    const bad = await ctm(daemon.address, ["log", "--kind", "sideways"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a record kind; one of set, delete, rollback/);
  });
});
