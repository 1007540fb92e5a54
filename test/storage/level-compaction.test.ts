import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { Draft, LogRecord } from "@ctm/core/record";
import { planAll } from "../../src/storage/compaction.conformance.js";
import { T0 } from "../../src/storage/log-store.conformance.js";
import { listArchives, readArchive, statedChecksum } from "../../src/storage/level/archive-file.js";
import { ClassicLevel } from "classic-level";
import { readWitness, writeWitness } from "../../src/storage/level/head-witness.js";
import { prefixed } from "../../src/storage/level/layout.js";
import { u64 } from "../../src/storage/level/codec.js";
import { repairStore } from "../../src/storage/level/repair-store.js";
import { verifyStore } from "../../src/storage/level/verify-store.js";
import { filesSize } from "../../src/storage/level/directory-size.js";
import { decodeLogValue } from "../../src/storage/level/record-bytes.js";
import { LevelLogStore } from "../../src/storage/level/level-log-store.js";

const set = (key: string, value: number): Draft => ({ key, value, deleted: false, author: "t", message: `v${value}`, kind: "set", cause: "api" });
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function storeWith(versions: number): Promise<{ store: LevelLogStore; dir: string; clock: ManualClock; history: LogRecord[] }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-compact-"));
  dirs.push(dir);
  const clock = new ManualClock(T0);
  const store = new LevelLogStore(dir, clock);
  await store.open();
  for (let v = 1; v <= versions; v += 100) {
    clock.advance(1000);
    await store.commit(() => Array.from({ length: Math.min(100, versions - v + 1) }, (_, i) => set("big/a", v + i)));
  }
  await store.commit(() => [set("big/b", 1)]);
  return { store, dir, clock, history: (await store.history("big/a", versions)).reverse() };
}

describe("LevelLogStore compaction", () => {
  it("archives every record it removes or strips, byte for byte, with a checksum file sha256sum reads", async () => {
    const { store, dir, history } = await storeWith(300);
    const outcome = await store.compact(planAll(200, "remove"));
    expect(outcome).toMatchObject({ removed: 199, archive: { records: 199 } });
    const file = outcome.archive!.file;
    expect(path.dirname(file)).toBe(path.join(dir, "archive"));
    expect(listArchives(path.join(dir, "archive"))).toEqual([file]);
    expect(readFileSync(`${file}.sha256`, "utf8")).toBe(`${outcome.archive!.sha256}  ${path.basename(file)}\n`);
    const { header, entries, trailer } = await readArchive(file);
    expect(header).toMatchObject({ format: "ctm-archive/1", previousHorizon: 1 });
    const archived: LogRecord[] = [];
    for await (const [what, bytes] of entries) {
      expect(what).toBe("remove");
      archived.push(decodeLogValue(bytes).record);
    }
    expect(archived).toEqual(history.slice(0, 199));
    expect(trailer()).toEqual({ horizon: 200, records: 199 });
    await store.close();
  });

  it("refuses an archive whose bytes changed", async () => {
    const { store, history: _h } = await storeWith(50);
    const outcome = await store.compact(planAll(40, "remove"));
    await store.close();
    const file = outcome.archive!.file;
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(file, bytes);
    await expect(readArchive(file)).rejects.toThrow(/damaged: its SHA-256 is/);
    expect(statedChecksum(file)).toBe(outcome.archive!.sha256);
  });

  it("keeps one archive per compaction, also for two to the same horizon (values first, audit records later)", async () => {
    const { store, dir } = await storeWith(20);
    const values = await store.compact(planAll(10, "strip"));
    const audit = await store.compact(planAll(10, "remove"));
    await store.close();
    expect(listArchives(path.join(dir, "archive"))).toEqual([values.archive!.file, audit.archive!.file]);
    const first = await readArchive(values.archive!.file);
    for await (const [what, bytes] of first.entries) {
      expect(what).toBe("strip");
      expect(decodeLogValue(bytes).record.value).toBeTypeOf("number");
    }
  });

  it("frees the space of what it removed on disk, and says how much", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-compact-"));
    dirs.push(dir);
    const store = new LevelLogStore(dir, new ManualClock(T0));
    await store.open();
    // Values LevelDB cannot compress: about 8 MB of them.
    for (let v = 0; v < 40; v++) await store.commit(() => Array.from({ length: 50 }, (_, i) => ({ key: `fat/k${i}`, value: randomBytes(3000).toString("base64"), deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" })));
    const before = await filesSize(dir);
    const outcome = await store.compact(planAll(store.headRevision, "remove"));
    const after = await filesSize(dir);
    await store.close();
    expect(outcome.removed).toBe(39 * 50);
    // What stays is one version of each of the 50 keys.
    expect(before).toBeGreaterThan(7_000_000);
    expect(after).toBeLessThan(before / 4);
    expect(outcome.bytesFreed).toBeGreaterThan(before / 2);
  });

  it("writes no archive when nothing leaves", async () => {
    const { store, dir } = await storeWith(10);
    expect(await store.compact(planAll(5, "keep"))).not.toHaveProperty("archive");
    expect(existsSync(path.join(dir, "archive")) ? readdirSync(path.join(dir, "archive")) : []).toEqual([]);
    await store.close();
  });

  it("a compaction cut short after it published its horizon is finished at the next open, and reported once", async () => {
    const { store, dir, clock } = await storeWith(3000);
    const running = store.compact(planAll(2900, "remove")).catch((e: unknown) => e);
    // Stop it between two steps of removal: the horizon is public, records are half gone.
    while (store.firstRevision === 1) await new Promise((r) => setImmediate(r));
    await store.close();
    expect(await running).toMatchObject({ code: "unavailable" });
    const again = new LevelLogStore(dir, clock, { verifyOnOpen: "full", witnessIntervalMs: 0 });
    await again.open();
    try {
      expect(again.lastVerification).toMatchObject({ ok: true, scope: "full" });
      expect(again.firstRevision).toBe(2900);
      // Version v is at revision v: those up to 2899 were superseded at or below the horizon.
      expect((await again.history("big/a", 10_000)).map((r) => r.version)).toEqual(Array.from({ length: 101 }, (_, i) => 3000 - i));
      const reports = await again.history("_ctm/compactions", 10);
      expect(reports.map((r) => r.value)).toEqual([{ horizon: 2900, previous_horizon: 1, removed: 2899, stripped: 0 }]);
      expect((await again.pageAt("big/", 2900, 10)).records.map((r) => `${r.key}@${r.version}`)).toEqual(["big/a@2900"]);
    } finally {
      await again.close();
    }
  });

  it("a compaction stopped before its horizon was published leaves the store as it was, and no archive", async () => {
    const { store, dir, clock } = await storeWith(3000);
    const running = store.compact(planAll(2900, "remove")).catch((e: unknown) => e);
    await store.close();
    expect(await running).toMatchObject({ code: "unavailable" });
    expect(readdirSync(path.join(dir, "archive"))).toEqual([]);
    const again = new LevelLogStore(dir, clock);
    await again.open();
    try {
      expect(again.firstRevision).toBe(1);
      expect(await again.history("big/a", 10_000)).toHaveLength(3000);
      expect(await again.history("_ctm/compactions", 10)).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it("opens when the head its witness names was compacted away since (a kill before the witness moved on)", async () => {
    const { store, dir, clock } = await storeWith(50);
    await store.close();
    const stale = (await readWitness(dir))!;
    const again = new LevelLogStore(dir, clock);
    await again.open();
    await again.commit(() => [set("big/b", 2)]);
    // big/b's first version, the witnessed head, leaves with everything else superseded.
    await again.compact(planAll(again.headRevision, "remove"));
    await again.close();
    // As a kill -9 right after the compaction would leave it.
    await writeWitness(dir, stale);
    const third = new LevelLogStore(dir, clock);
    await third.open();
    expect(third.firstRevision).toBeGreaterThan(stale.revision);
    await third.close();
  });

  it("ctmd verify and ctmd repair read a compacted store: the digest below the horizon, the chain after it", async () => {
    const { store, dir } = await storeWith(300);
    await store.compact(planAll(200, "strip"));
    await store.compact(planAll(250, "remove"));
    for (let v = 1; v <= 5; v++) await store.commit(() => [set("big/c", v)]);
    const head = store.headRevision;
    await store.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: true });
    // Damage the newest record: repair keeps everything before it, below the horizon included.
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
    await db.put(prefixed("log", u64(head)), Buffer.from("not a record"));
    await db.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: false, firstBadRevision: head });
    const repaired = await repairStore(dir);
    expect(repaired).toMatchObject({ kept: head - 1, lostCount: 1 });
    expect(await verifyStore(dir)).toMatchObject({ ok: true });
    const again = new LevelLogStore(dir, new ManualClock(T0 + 10_000_000));
    await again.open();
    try {
      expect(again.firstRevision).toBe(250);
      expect((await again.history("big/c", 10)).map((r) => r.version)).toEqual([4, 3, 2, 1]);
      expect((await again.history("big/a", 1000)).map((r) => r.version)).toEqual(Array.from({ length: 51 }, (_, i) => 300 - i));
    } finally {
      await again.close();
    }
    // Below the horizon nothing can be told apart: repair refuses rather than guess.
    const db2 = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db2.open();
    await db2.put(prefixed("log", u64(249)), Buffer.from("not a record"));
    await db2.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: false });
    await expect(repairStore(dir)).rejects.toThrow(/below the compaction horizon 250, does not decode/);
  });
});
