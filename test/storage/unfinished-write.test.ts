import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ClassicLevel } from "classic-level";
import { afterEach, describe, expect, it } from "vitest";
import type { JsonValue } from "@ctm/core/json";
import { ManualClock, systemClock } from "../../src/domain/clock.js";
import { T0 } from "../../src/storage/log-store.conformance.js";
import { LEVEL_STORE_DEFAULTS, LevelLogStore } from "../../src/storage/level/level-log-store.js";
import { META } from "../../src/storage/level/layout.js";
import { repairStore } from "../../src/storage/level/repair-store.js";
import { decodeUnfinished, encodeUnfinished } from "../../src/storage/level/unfinished-write.js";
import { verifyStore } from "../../src/storage/level/verify-store.js";

const GROUP = 5000;
const PART = 64;
const writer = path.resolve("test/helpers/parted-writer.mjs");
const set = (key: string, value: JsonValue) => ({ key, value, deleted: false, author: "t", message: "", kind: "set" as const, cause: "api" });

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-parts-"));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The unfinished batch a stopped store's directory holds, if any. */
async function unfinishedIn(dir: string): Promise<{ from: number; to: number } | undefined> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open({ createIfMissing: false });
  try {
    const b = await db.get(META.unfinished);
    return b === undefined ? undefined : decodeUnfinished(b);
  } finally {
    await db.close();
  }
}

/**
 * Runs the parted writer on `dir` and kills it with SIGKILL `share` of the way through its
 * second group (timed by its first): the heads of the groups it acknowledged.
 */
async function killMidGroup(dir: string, share: number): Promise<number[]> {
  const child = spawn(process.execPath, [writer, dir, String(GROUP), String(PART)], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(() => void child.kill("SIGKILL"));
  const acked: number[] = [];
  const t0 = performance.now();
  let out = "";
  let timed = false;
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split("\n");
      out = lines.pop()!;
      for (const l of lines) acked.push(Number(l.split(" ")[1]));
      if (acked.length > 0 && !timed) {
        timed = true;
        const firstMs = performance.now() - t0;
        setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, firstMs * share);
      }
    });
    void exited.then(() => reject(new Error("the writer exited before it was killed")));
  });
  await exited;
  return acked;
}

describe("a batch written in parts", () => {
  it("cut off by kill -9 between its parts, is refused by no check and taken out at the next open: none of it is served, the head is the last acknowledged group's", async () => {
    let undone = 0;
    const seen: string[] = [];
    for (let attempt = 0; attempt < 8 && undone === 0; attempt++) {
      const dir = await tempDir();
      const acked = await killMidGroup(dir, [0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.1][attempt]!);
      expect(acked.length).toBeGreaterThanOrEqual(1);
      const lastAcked = acked.at(-1)!;
      const unfinished = await unfinishedIn(dir);
      if (unfinished !== undefined) {
        // The parts that made it are above the head, unacknowledged: the offline check passes,
        // stopping at the head, and a repair takes them out rather than keeping them.
        expect(unfinished.from).toBe(lastAcked + 1);
        expect(unfinished.to).toBe(lastAcked + GROUP);
        const report = await verifyStore(dir);
        expect(report).toMatchObject({ ok: true, to: lastAcked });
        const copy = await tempDir();
        await fs.cp(dir, copy, { recursive: true });
        expect((await repairStore(copy)).kept).toBe(lastAcked);
        expect(await unfinishedIn(copy)).toBeUndefined();
      }
      const store = new LevelLogStore(dir, systemClock, { ...LEVEL_STORE_DEFAULTS, verifyOnOpen: "full" });
      await store.open();
      cleanups.push(() => store.close());
      const head = store.headRevision;
      const removed = store.stats.undoneRecords ?? 0;
      seen.push(`${unfinished ? `unfinished ${unfinished.from}..${unfinished.to}` : "no marker"}, head ${head}, undone ${removed}`);
      // All or nothing: the head is the last acknowledged group's, or the next one's if its last
      // part landed before the kill, and every key holds one group's value.
      expect([lastAcked, lastAcked + GROUP]).toContain(head);
      if (unfinished !== undefined) {
        expect(head).toBe(lastAcked);
        expect(removed).toBeGreaterThan(0);
        expect(removed).toBeLessThan(GROUP);
        expect(removed % PART).toBe(0);
        expect(store.undoneWrite).toEqual({ ...unfinished, removed });
      }
      const groups = new Set([...store.eachLatest("k/")].map((r) => (r.value as { g: number }).g));
      expect(groups).toEqual(new Set([head / GROUP]));
      // Nothing of the undone parts is read at any revision, and the next commit follows the head.
      expect(await store.at("k/000000", head + 1)).toMatchObject({ revision: head - GROUP + 1 });
      const [next] = await store.commit(() => [set("k/000000", { g: -1 })]);
      expect(next!.revision).toBe(head + 1);
      expect(await store.verify()).toMatchObject({ ok: true, to: head + 1 });
      await store.close();
      undone = removed;
    }
    // The kills are spread over the second group's parts: at least one lands between two of them.
    expect(undone, seen.join("; ")).toBeGreaterThan(0);
  }, 180_000);

  it.each([
    ["beyond the head", { from: 15, to: 20 }],
    ["reaching below the head", { from: 8, to: 12 }],
  ])("named by a marker %s, is refused by the check and by open, and repair keeps every acknowledged revision", async (_, marker) => {
    const dir = await tempDir();
    const store = new LevelLogStore(dir, new ManualClock(T0), LEVEL_STORE_DEFAULTS);
    await store.open();
    await store.commit(() => Array.from({ length: 10 }, (_, i) => set(`k/${i}`, i)));
    await store.close();
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open({ createIfMissing: false });
    await db.put(META.unfinished, encodeUnfinished(marker));
    await db.close();
    const named = `${marker.from}\\.\\.${marker.to}, which do not follow the head revision 10`;
    expect(await verifyStore(dir)).toMatchObject({ ok: false, to: 10, firstBadRevision: 11, reason: expect.stringMatching(new RegExp(named)) });
    const refused = new LevelLogStore(dir, new ManualClock(T0), LEVEL_STORE_DEFAULTS);
    await expect(refused.open()).rejects.toMatchObject({ code: "data_loss", message: expect.stringMatching(/revision 11: an unfinished batch could not be taken out/) });
    await refused.close();
    // What lies at or below the head was acknowledged: repair never takes it out on a marker's word.
    expect(await repairStore(dir)).toMatchObject({ kept: 10, lostCount: 0 });
    expect(await unfinishedIn(dir)).toBeUndefined();
    const reopened = new LevelLogStore(dir, new ManualClock(T0), { ...LEVEL_STORE_DEFAULTS, verifyOnOpen: "full" });
    await reopened.open();
    cleanups.push(() => reopened.close());
    expect(reopened.headRevision).toBe(10);
    expect(reopened.undoneWrite).toBeUndefined();
  });

  it("is checked while its parts land: the check of a live store stops at the head and counts the parts above it", async () => {
    const dir = await tempDir();
    const store = new LevelLogStore(dir, new ManualClock(T0), { ...LEVEL_STORE_DEFAULTS, threadedBatch: 1, batchPart: PART });
    await store.open();
    cleanups.push(() => store.close());
    await store.commit(() => Array.from({ length: 100 }, (_, i) => set(`k/${i}`, 0)));
    const commit = store.commit(() => Array.from({ length: 20_000 }, (_, i) => set(`k/${i}`, 1)));
    while ((store.stats.batchParts ?? 0) < 4) await new Promise((r) => setTimeout(r, 1));
    expect(store.headRevision).toBe(100);
    expect(await store.verify()).toMatchObject({ ok: true, to: 100 });
    await commit;
    expect(store.stats.batchParts).toBe(2 + Math.ceil(20_000 / PART));
    expect(await store.verify()).toMatchObject({ ok: true, to: 20_100, recordsChecked: 20_100 });
  }, 60_000);
});
