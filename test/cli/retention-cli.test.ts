import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../src/domain/clock.js";
import { planAll } from "../../src/storage/compaction.conformance.js";
import { LevelLogStore } from "../../src/storage/level/level-log-store.js";
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
    // Time travel before compaction, to compare with the archive's answer after it.
    const past = JSON.parse((await ok(["--json", "at", before.toISOString(), "tmp/x"])).stdout) as { entry: { version: number; value: unknown; author: string; revision: number } };
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
    expect(ls.stdout).toMatch(/ctm-archive-\d{16}-\d{15}\.cbor\.gz[\s│]+1\.\.\d+[\s│]+3[\s\S]*ok/);
    // The daemon no longer answers it; the archive does, with the same record.
    expect((await ctm(A, ["at", before.toISOString(), "tmp/x"])).code).toBe(11);
    const at = await ok(["archive", "at", archive, "--time", before.toISOString(), "tmp/x"], undefined);
    expect(at.stdout).toMatch(/value\s+3/);
    expect(at.stdout).toMatch(/version\s+3/);
    const json = JSON.parse((await ok(["--json", "archive", "at", archive, "--time", before.toISOString()], undefined)).stdout) as { key: string; version: number; value: unknown; author: string; revision: number }[];
    expect(json).toHaveLength(1);
    expect({ version: json[0]!.version, value: json[0]!.value, author: json[0]!.author, revision: json[0]!.revision }).toEqual({
      version: past.entry.version,
      value: past.entry.value,
      author: past.entry.author,
      revision: past.entry.revision,
    });
    const none = await ctm(undefined, ["archive", "at", archive, "--time", "2000-01-01T00:00:00Z"]);
    expect(none.code).toBe(5);
    expect(none.stderr).toMatch(/no archived record was live at 2000-01-01T00:00:00Z/);

    await ok(["retention", "release", "case-7"]);
    await ok(["retention", "delete", "tmp"]);
    expect((await ok(["retention", "list"])).stdout).not.toMatch(/case-7|tmp\/\*\*/);
  });

  it("archive at reads several archives, and shows a record's value even after a later compaction archived it again without one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctm-archive-cli-"));
    try {
      const clock = new ManualClock(Date.UTC(2025, 2, 1, 3, 0));
      const store = new LevelLogStore(join(dir, "data"), clock);
      await store.open();
      for (let v = 1; v <= 3; v++) {
        await store.commit(() => [{ key: "flags/k", value: { v }, deleted: false, author: `dev-${v}`, message: "", kind: "set", cause: "api" }]);
        clock.advance(3_600_000);
      }
      const values = await store.compact(planAll(3, "strip"));
      const audit = await store.compact(planAll(3, "remove"));
      await store.close();
      const at = await ok(["archive", "at", values.archive!.file, audit.archive!.file, "--time", "2025-03-01T04:30:00Z", "--key", "flags/k"], undefined);
      expect(at.stdout).toMatch(/value\s+\{\n\s+"v": 2\n\s*\}/);
      expect(at.stdout).toMatch(/written\s+2025-03-01T04:00:00Z by dev-2/);
      expect(at.stdout).toMatch(/live until\s+2025-03-01T05:00:00Z \(revision 3\)/);
      const ls = await ok(["archive", "ls", join(dir, "data", "archive")], undefined);
      expect(ls.stdout.match(/ctm-archive-/g)).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
