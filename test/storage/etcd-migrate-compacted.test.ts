import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../src/domain/clock.js";
import type { Draft } from "@ctm/core/record";
import { planAll } from "../../src/storage/compaction.conformance.js";
import { EtcdClient } from "../../src/storage/etcd/etcd-client.js";
import { decodeHorizon } from "../../src/storage/etcd/etcd-horizon.js";
import { EtcdLayout } from "../../src/storage/etcd/etcd-layout.js";
import { EtcdLogStore } from "../../src/storage/etcd/etcd-log-store.js";
import { migrateToEtcd } from "../../src/storage/etcd/migrate-to-etcd.js";
import { u64 } from "../../src/storage/level/codec.js";
import { prefixed } from "../../src/storage/level/layout.js";
import { LEVEL_STORE_DEFAULTS, LevelLogStore } from "../../src/storage/level/level-log-store.js";
import { decodeLogValue, encodeLogValue } from "../../src/storage/level/record-bytes.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";

let cluster: EtcdCluster;
let etcd: EtcdClient;
beforeAll(async () => {
  cluster = await EtcdCluster.start(1);
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
}, 60_000);
afterAll(async () => {
  etcd?.close();
  await cluster?.stop();
});

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const set = (key: string, value: number, author = "t"): Draft => ({ key, value, deleted: false, author, message: "", kind: "set", cause: "api" });

/** An embedded store with 300 records over 7 keys and a delete, compacted below revision 200: mig/0's old records removed, the others' stripped. */
async function compactedLevel(): Promise<{ level: LevelLogStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "ctm-migrate-compacted-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const level = new LevelLogStore(dir, clock, LEVEL_STORE_DEFAULTS);
  await level.open();
  cleanup.push(() => level.close());
  for (let i = 0; i < 300; i++) {
    clock.advance(1000);
    await level.commit(() => [set(`mig/${i % 7}`, i, `author${i % 3}`)]);
  }
  await level.commit(() => [{ key: "mig/1", deleted: true, author: "ana", message: "gone", kind: "delete", cause: "api" }]);
  const outcome = await level.compact({ ...planAll(200, "keep"), dispose: (r) => (r.key === "mig/0" ? "remove" : "strip") });
  expect(outcome).toMatchObject({ horizon: 200, removed: 28, stripped: 165 });
  clock.advance(1000);
  await level.commit(() => [set("mig/3", 1000)]);
  return { level, dir };
}

async function etcdStore(prefix: string): Promise<EtcdLogStore> {
  const archiveDir = await mkdtemp(join(tmpdir(), "ctm-migrate-archive-"));
  cleanup.push(() => rm(archiveDir, { recursive: true, force: true }));
  const s = new EtcdLogStore(systemClock, { connection: { endpoints: cluster.endpoints }, prefix, archiveDir });
  await s.open();
  cleanup.push(() => s.close());
  return s;
}

describe("migrateToEtcd from a compacted embedded store", () => {
  it("keeps the horizon: what compaction left below it is copied as stored, the same reads are refused, verify holds, and compaction goes on in etcd", async () => {
    const { level } = await compactedLevel();
    const head = level.headRevision;
    const prefix = `/ctm-migrated/${randomUUID()}/`;
    const seen: number[] = [];
    const report = await migrateToEtcd(level, { endpoints: cluster.endpoints }, prefix, (rev) => seen.push(rev));
    // 303 revisions (301 + the compaction's report + one write) less the 28 removed.
    expect(report).toMatchObject({ records: head - 28, keys: 8, headRevision: head, horizon: 200 });
    expect(seen.at(-1)).toBe(head);
    expect(decodeHorizon((await etcd.range({ key: new EtcdLayout(prefix).horizon })).kvs[0]!.value)).toMatchObject({ revision: 200, time: level.firstTime });

    const s = await etcdStore(prefix);
    expect([s.headRevision, s.firstRevision, s.firstTime]).toEqual([head, 200, level.firstTime]);
    expect(await s.range(200, head, 1000)).toEqual(await level.range(200, head, 1000));
    expect(s.latestUnder("")).toEqual(level.latestUnder(""));
    // History lists what compaction left: mig/0 from the horizon on, the others' stripped records below it.
    for (let k = 0; k < 7; k++) expect(await s.history(`mig/${k}`, 1000)).toEqual(await level.history(`mig/${k}`, 1000));
    expect((await s.history("mig/2", 1000)).filter((r) => r.valueCompacted)).toHaveLength(28);
    // mig/0's version 1, which carried its iv/ entry, was removed.
    for (const [k, v] of [["mig/4", 40], ["mig/0", 40]] as const) expect(await s.version(k, v)).toEqual(await level.version(k, v));
    expect((await s.version("mig/0", 40))?.revision).toBe(274);
    for (const store of [level, s]) await expect(store.at("mig/3", 150)).rejects.toMatchObject({ code: "out_of_range" });
    expect(await s.at("mig/3", 250)).toEqual(await level.at("mig/3", 250));
    const t = Date.UTC(2025, 0, 1) + 250_500;
    expect(await s.revisionAt(t)).toBe(await level.revisionAt(t));
    expect(await s.verify()).toMatchObject({ ok: true, from: 1, to: head, recordsChecked: report.records });

    // etcd's compaction takes it from there: mig/0's records between the horizons leave.
    const next = await s.compact(planAll(260, "remove"));
    expect(next).toMatchObject({ previousHorizon: 200, horizon: 260 });
    expect(next.removed).toBeGreaterThan(0);
    expect(await s.verify()).toMatchObject({ ok: true });
    expect((await s.commit(() => [set("mig/new", 1)]))[0]!.revision).toBe(head + 2);
  });

  it("refuses a store whose records below the horizon differ from what compaction left, and writes nothing to etcd", async () => {
    const { level, dir } = await compactedLevel();
    const head = level.headRevision;
    await level.close();
    cleanup.pop();
    // Change the author of a stripped record below the horizon, then open without a full check.
    const raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    const key = prefixed("log", u64(100));
    const stored = decodeLogValue((await raw.get(key))!);
    expect(stored.record.valueCompacted).toBe(true);
    await raw.put(key, encodeLogValue(Buffer.from(stored.prev!), { ...stored.record, author: "mallory" }));
    await raw.close();
    const reopened = new LevelLogStore(dir, systemClock, { ...LEVEL_STORE_DEFAULTS, verifyOnOpen: "tail" });
    await reopened.open();
    cleanup.push(() => reopened.close());
    expect(reopened.headRevision).toBe(head);

    const prefix = `/ctm-migrated/${randomUUID()}/`;
    await expect(migrateToEtcd(reopened, { endpoints: cluster.endpoints }, prefix)).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringMatching(/records below the compaction horizon 200 differ from those compaction left/),
    });
    const [from, to] = new EtcdLayout(prefix).everything;
    expect((await etcd.range({ key: from, rangeEnd: to, countOnly: true })).count).toBe(0n);
  });

  it("removes what a failed migration copied, and refuses a prefix holding the remains of one that was cut short", async () => {
    const { level } = await compactedLevel();
    const prefix = `/ctm-migrated/${randomUUID()}/`;
    const L = new EtcdLayout(prefix);
    // A source that fails part way, after pages went to etcd.
    let pages = 0;
    const failing = Object.create(level, {
      range: {
        value: async (from: number, to: number, limit: number) => {
          if (++pages > 1) throw new Error("the disk went away");
          return level.range(from, to, Math.min(limit, 50));
        },
      },
    }) as LevelLogStore;
    await expect(migrateToEtcd(failing, { endpoints: cluster.endpoints }, prefix)).rejects.toThrow(/the disk went away/);
    expect((await etcd.range({ key: L.everything[0], rangeEnd: L.everything[1], countOnly: true })).count).toBe(0n);

    // Remains left by a migration that could not clean up (say, killed).
    await etcd.txn({ success: [{ request: { $case: "requestPut", value: { key: L.log(1), value: Buffer.from("x"), lease: 0n, prevKv: false } } }] });
    await expect(migrateToEtcd(level, { endpoints: cluster.endpoints }, prefix)).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringMatching(/but no meta\/head, the remains of a migration that was cut short/) });
  });
});
