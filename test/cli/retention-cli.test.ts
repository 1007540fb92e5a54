import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm } from "./run-ctm.js";

let daemon: Daemon;
let A: string;

beforeAll(async () => {
  daemon = await Daemon.start();
  A = daemon.address;
});
afterAll(() => daemon?.dispose());

const ok = async (args: string[], address: string | undefined = A) => {
  const r = await ctm(address, args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
};

describe("ctm retention, compact, status, archive", () => {
  it("sets policies and holds, compacts, shows the horizon, and answers time travel from the archive offline", async () => {
    expect((await ok(["status"])).stdout).toMatch(/oldest revision\s+1 \(the whole history is served\)/);
    expect((await ok(["compact"])).stdout).toMatch(/nothing to compact: the oldest revision served stays 1/);
    await ok(["retention", "set", "tmp", "--keys", "tmp/**", "--keep-for", "0s", "--keep-audit-for", "0s"]);
    await ok(["retention", "set", "flags", "--keys", "flags/**", "--keys", "ff/**", "--keep-versions", "3", "--keep-for", "30d"]);
    await ok(["retention", "hold", "case-7", "--keys", "tmp/held", "--reason", "audit"]);
    const bad = await ctm(A, ["retention", "set", "none", "--keys", "x/**"]);
    expect(bad).toMatchObject({ code: 3, stderr: "ctm: INVALID_ARGUMENT: value.keepForMs: or keepVersions is required: a policy that keeps everything is no policy\n" });
    const list = await ok(["retention", "list"]);
    expect(list.stdout).toMatch(/flags[\s│]+flags\/\*\*[\s\S]*3[\s│]+30d[\s│]+forever/);
    expect(list.stdout).toMatch(/case-7[\s│]+tmp\/held[\s│]+audit/);

    for (let v = 1; v <= 3; v++) await ok(["set", "tmp/x", String(v)]);
    const before = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await ok(["set", "tmp/x", "4"]);
    const compacted = await ok(["compact", "-m", "clean up"]);
    expect(compacted.stdout).toMatch(/oldest revision\s+1 → \d+/);
    expect(compacted.stdout).toMatch(/removed\s+3/);
    const archive = /archive\s+(\S+)/.exec(compacted.stdout)![1]!;
    expect(archive.startsWith(join(daemon.dataDir, "archive"))).toBe(true);
    const status = await ok(["--json", "status"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ oldestRevision: 7, lastCompaction: { removed: 3 } });
    expect((await ok(["status"])).stdout).toMatch(/last compaction\s+.*3 removed, 0 values compacted/);

    // Offline: the archive directory, then what was live before the last write.
    const ls = await ok(["archive", "ls", join(daemon.dataDir, "archive")], undefined);
    expect(ls.stdout).toMatch(/ctm-archive-\d{16}\.cbor\.gz[\s│]+1\.\.\d+[\s│]+3[\s\S]*ok/);
    const at = await ok(["archive", "at", archive, "--time", before.toISOString(), "--key", "tmp/x"], undefined);
    expect(at.stdout).toMatch(/value\s+3/);
    expect(at.stdout).toMatch(/version\s+3/);
    const json = await ok(["--json", "archive", "at", archive, "--time", before.toISOString()], undefined);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ key: "tmp/x", version: 3, value: 3 })]);
    const none = await ctm(undefined, ["archive", "at", archive, "--time", "2000-01-01T00:00:00Z"]);
    expect(none.code).toBe(5);
    expect(none.stderr).toMatch(/no archived record was live at 2000-01-01T00:00:00Z/);

    await ok(["retention", "release", "case-7"]);
    await ok(["retention", "delete", "tmp"]);
    expect((await ok(["retention", "list"])).stdout).not.toMatch(/case-7|tmp\/\*\*/);
  });
});
