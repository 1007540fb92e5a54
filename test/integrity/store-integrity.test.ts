import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { Draft } from "@ctm/core/record";
import { T0 } from "../../src/storage/log-store.conformance.js";
import { u64 } from "../../src/storage/level/codec.js";
import { prefixed } from "../../src/storage/level/layout.js";
import { LevelLogStore } from "../../src/storage/level/level-log-store.js";
import { decodeLogValue, encodeLogValue } from "../../src/storage/level/record-bytes.js";
import { repairStore } from "../../src/storage/level/repair-store.js";
import { verifyStore } from "../../src/storage/level/verify-store.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const set = (key: string, value: number): Draft => ({ key, value, deleted: false, author: "t", message: "", kind: "set", cause: "api" });
const sha = (b: Uint8Array): Buffer => createHash("sha256").update(b).digest();

/** A closed store with `n` records over 7 keys, one record per commit. */
async function storeWith(n: number, opts?: ConstructorParameters<typeof LevelLogStore>[2]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ctm-integrity-"));
  dirs.push(dir);
  const s = new LevelLogStore(dir, new ManualClock(T0), opts);
  await s.open();
  for (let i = 1; i <= n; i++) await s.commit(() => [set(`k${i % 7}`, i)]);
  await s.close();
  return dir;
}

async function raw<T>(dir: string, fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open({ createIfMissing: false });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const open = async (dir: string, verifyOnOpen: "auto" | "tail" | "full" = "auto", revisionIndex: "auto" | "off" = "auto"): Promise<LevelLogStore> => {
  const s = new LevelLogStore(dir, new ManualClock(T0 + 1000), { verifyOnOpen, witnessIntervalMs: 0, revisionIndex });
  await s.open();
  return s;
};

describe("the hash chain", () => {
  it("every record names the SHA-256 of the stored record before it, and meta names the tip", async () => {
    const dir = await storeWith(40);
    await raw(dir, async (db) => {
      let prev: Buffer = Buffer.alloc(32);
      for (let rev = 1; rev <= 40; rev++) {
        const bytes = (await db.get(prefixed("log", u64(rev))))!;
        const stored = decodeLogValue(bytes);
        expect(stored.record.revision).toBe(rev);
        expect(Buffer.from(stored.prev!).equals(prev)).toBe(true);
        prev = sha(bytes);
      }
      expect((await db.get(prefixed("meta", Buffer.from("hash"))))!.equals(prev)).toBe(true);
    });
    const report = await verifyStore(dir);
    expect(report).toMatchObject({ ok: true, scope: "full", from: 1, to: 40, recordsChecked: 40 });
  });

  it("an altered record is named by verify, refused at a full open, and fails a live store's check", async () => {
    const dir = await storeWith(30);
    // Rewrite revision 12 with another value but a valid-looking envelope: its own link is intact.
    await raw(dir, async (db) => {
      const stored = decodeLogValue((await db.get(prefixed("log", u64(12))))!);
      await db.put(prefixed("log", u64(12)), encodeLogValue(stored.prev!, { ...stored.record, value: 999 }));
    });
    expect(await verifyStore(dir)).toMatchObject({ ok: false, firstBadRevision: 12 });
    await expect(open(dir, "full")).rejects.toMatchObject({ code: "data_loss", message: expect.stringContaining("at revision 12") });

    // A tail check starts at the last clean stop, so this store opens; the full check in the
    // background then fails it, and from then on it refuses every write.
    const live = await open(dir, "tail");
    expect(live.refusal).toBeUndefined();
    const report = await live.verify();
    expect(report).toMatchObject({ ok: false, firstBadRevision: 12 });
    expect(live.healthy).toBe(false);
    expect(live.refusal).toMatchObject({ code: "data_loss" });
    await expect(live.commit(() => [set("k", 1)])).rejects.toMatchObject({ code: "data_loss" });
    await live.close();
  });

  it("a record missing from the middle is named as the first bad revision", async () => {
    const dir = await storeWith(25);
    await raw(dir, (db) => db.del(prefixed("log", u64(9))));
    expect(await verifyStore(dir)).toMatchObject({ ok: false, firstBadRevision: 9, reason: expect.stringContaining("missing") });
    await expect(open(dir)).rejects.toMatchObject({ code: "data_loss", message: expect.stringMatching(/revision 9.*ctmd repair/) });
  });

  // With the revision index in memory, and before it is built (the key index on disk).
  it.each(["auto", "off"] as const)("a record missing from the middle, read before any check finds it, is refused, never answered as absent (revision index %s)", async (revisionIndex) => {
    // k2 is written at revisions 2, 9, 16 and 23; its record at 9 goes missing.
    const dir = await storeWith(25);
    await raw(dir, (db) => db.del(prefixed("log", u64(9))));
    // A tail check starts at the last clean stop, so this store opens.
    const live = await open(dir, "tail", revisionIndex);
    try {
      await expect(live.at("k2", 12)).rejects.toMatchObject({ code: "data_loss" });
      await expect(live.pageAt("k", 12, 100)).rejects.toMatchObject({ code: "data_loss" });
      await expect(live.history("k2", 10)).rejects.toMatchObject({ code: "data_loss" });
      await expect(live.range(1, 25, 10, "k2")).rejects.toMatchObject({ code: "data_loss" });
      // Around the hole, reads are whole.
      expect((await live.at("k2", 8))?.revision).toBe(2);
      expect((await live.at("k2", 16))?.revision).toBe(16);
      expect((await live.history("k2", 2)).map((r) => r.revision)).toEqual([23, 16]);
      expect((await live.history("k2", 10, 9)).map((r) => r.revision)).toEqual([2]);
    } finally {
      await live.close();
    }
  });

  it("an index entry that disagrees with the log is found", async () => {
    const dir = await storeWith(20);
    await raw(dir, (db) => db.del(prefixed("ver", Buffer.concat([Buffer.from("k3"), Buffer.from([0]), u64(1)]))));
    expect(await verifyStore(dir)).toMatchObject({ ok: false, firstBadRevision: 3, reason: expect.stringContaining("version index") });
  });
});

describe("starting on a damaged directory", () => {
  it("never creates a new store where LevelDB's CURRENT file is gone, and leaves the tables alone", async () => {
    const dir = await storeWith(50);
    await unlink(join(dir, "CURRENT"));
    const before = (await readdir(dir)).sort();
    await expect(open(dir)).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("no CURRENT file") });
    expect((await readdir(dir)).sort()).toEqual(before);
    // LevelDB's own repair rebuilds the manifest; every revision is kept.
    const repaired = await repairStore(dir);
    expect(repaired).toMatchObject({ leveldbRepaired: true, kept: 50, lostCount: 0 });
    const s = await open(dir, "full");
    expect(s.headRevision).toBe(50);
    expect(s.latest("k1")?.value).toBe(50);
    await s.close();
  });

  it("refuses to make a store in a directory that holds other files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctm-integrity-"));
    dirs.push(dir);
    await writeFile(join(dir, "notes.txt"), "mine");
    await expect(open(dir)).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("not empty") });
  });

  it("refuses a store whose head witness names revisions it lacks", async () => {
    const dir = await storeWith(10);
    await writeFile(join(dir, "ctm-head.json"), JSON.stringify({ revision: 14, hash: "00" }));
    await expect(open(dir)).rejects.toMatchObject({ code: "data_loss", message: expect.stringContaining("acknowledged revisions 11..14 are missing") });
    expect(await verifyStore(dir)).toMatchObject({ ok: false, firstBadRevision: 11 });
  });
});

describe("ctmd repair", () => {
  it("keeps the longest intact prefix, reports exactly what was lost, and rebuilds the indexes", async () => {
    const dir = await storeWith(60);
    await raw(dir, (db) => db.del(prefixed("log", u64(41))));
    const report = await repairStore(dir);
    expect(report).toMatchObject({ kept: 40, knownHead: 60, lost: [{ from: 41, to: 60 }], lostCount: 20 });
    // The lost records that could still be read are listed for the operator.
    expect(report.lostRecords.map((r) => r.revision)).toEqual(Array.from({ length: 19 }, (_, i) => 42 + i));
    expect(await verifyStore(dir)).toMatchObject({ ok: true, to: 40 });
    const s = await open(dir, "full");
    expect(s.headRevision).toBe(40);
    // Indexes agree with the kept log: k5's versions stop at revision 40.
    const hist = await s.history("k5", 100);
    expect(hist.map((r) => r.revision)).toEqual([40, 33, 26, 19, 12, 5]);
    expect((await s.version("k5", 6))?.revision).toBe(40);
    expect(await s.version("k5", 7)).toBeUndefined();
    // New writes continue the chain from the kept tip.
    await s.commit(() => [set("k5", 1000)]);
    expect(s.headRevision).toBe(41);
    await s.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: true, to: 41 });
  });

  it("on an intact store changes nothing that a reader sees", async () => {
    const dir = await storeWith(15);
    expect(await repairStore(dir)).toMatchObject({ kept: 15, lostCount: 0, lost: [] });
    expect(await verifyStore(dir)).toMatchObject({ ok: true, to: 15 });
  });
});
