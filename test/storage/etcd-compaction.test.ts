import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/domain/clock.js";
import type { Draft } from "@ctm/core/record";
import { planAll } from "../../src/storage/compaction.conformance.js";
import { EtcdClient } from "../../src/storage/etcd/etcd-client.js";
import { decodeHorizon } from "../../src/storage/etcd/etcd-horizon.js";
import { EtcdLayout } from "../../src/storage/etcd/etcd-layout.js";
import { EtcdLogStore } from "../../src/storage/etcd/etcd-log-store.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";

// Several EtcdLogStores on one prefix are several ctmd replicas sharing one log.
let cluster: EtcdCluster;
let etcd: EtcdClient;
beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
}, 60_000);
afterAll(async () => {
  etcd?.close();
  await cluster?.stop();
});

const open: EtcdLogStore[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** `n` replicas of one store, each with its own archive directory. */
async function replicas(n: number, prefix = `/ctm-compaction/${randomUUID()}/`): Promise<{ stores: EtcdLogStore[]; prefix: string; archives: string[] }> {
  const stores: EtcdLogStore[] = [];
  const archives: string[] = [];
  for (let i = 0; i < n; i++) {
    const archiveDir = await mkdtemp(join(tmpdir(), "ctm-etcd-archive-"));
    dirs.push(archiveDir);
    archives.push(archiveDir);
    const s = new EtcdLogStore(systemClock, { connection: { endpoints: [...cluster.endpoints.slice(i % 3), ...cluster.endpoints.slice(0, i % 3)] }, prefix, archiveDir });
    await s.open();
    open.push(s);
    stores.push(s);
  }
  return { stores, prefix, archives };
}

const set = (key: string, value: number): Draft => ({ key, value, deleted: false, author: "t", message: "", kind: "set", cause: "api" });

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `n` versions of `key`, 100 to a commit. */
async function versions(store: EtcdLogStore, key: string, n: number): Promise<void> {
  for (let done = 0; done < n; done += 100) await store.commit(() => Array.from({ length: Math.min(100, n - done) }, (_, i) => set(key, done + i + 1)));
}

const horizonIn = async (prefix: string) => (await etcd.range({ key: new EtcdLayout(prefix).horizon })).kvs[0];

describe("compaction on the etcd store", () => {
  it("every other replica learns the horizon and refuses reads below it, one that opens later too", async () => {
    const { stores, prefix } = await replicas(2);
    const [a, b] = stores as [EtcdLogStore, EtcdLogStore];
    await versions(a, "k/a", 10);
    await a.commit(() => [set("k/b", 1)]);
    await until("b follows", () => b.headRevision === 11);
    const outcome = await a.compact(planAll(8, "remove"));
    expect(outcome).toMatchObject({ horizon: 8, removed: 7 });
    await until("b learns the horizon", () => b.firstRevision === 8);
    expect(b.firstTime).toBe(a.firstTime);
    expect(b.firstTime).toBeGreaterThan(0);
    const refused = { code: "out_of_range", details: { oldest: 8 } };
    await expect(b.at("k/a", 7)).rejects.toMatchObject(refused);
    await expect(b.range(3, 11, 100)).rejects.toMatchObject(refused);
    await expect(b.range(3, 11, 100, "k/a")).rejects.toMatchObject(refused);
    await expect(b.pageAt("k/", 5, 100)).rejects.toMatchObject(refused);
    expect((await b.at("k/a", 9))!.version).toBe(9);
    expect((await b.history("k/a", 100)).map((r) => r.version)).toEqual([10, 9, 8]);
    const [c] = (await replicas(1, prefix)).stores;
    expect(c!.firstRevision).toBe(8);
    await expect(c!.at("k/a", 7)).rejects.toMatchObject(refused);
  });

  it("a read on a replica whose watch has not brought the horizon yet meets it in etcd and is refused, not answered short", async () => {
    const { stores } = await replicas(2);
    const [a, b] = stores as [EtcdLogStore, EtcdLogStore];
    await versions(a, "k/a", 10);
    await until("b follows", () => b.headRevision === 10);
    // b hears nothing from its watch meanwhile.
    const watch = (b as unknown as { watch: { pause(): void; resume(): void } }).watch;
    watch.pause();
    try {
      await a.compact(planAll(8, "remove"));
      expect(b.firstRevision).toBe(1);
      await expect(b.range(3, 10, 100)).rejects.toMatchObject({ code: "out_of_range", details: { oldest: 8 } });
      expect(b.firstRevision).toBe(8);
    } finally {
      watch.resume();
    }
  });

  it("verify passes on every replica after compactions that strip and remove, and fails when what is left below the horizon changes", async () => {
    const { stores, prefix } = await replicas(2);
    const [a, b] = stores as [EtcdLogStore, EtcdLogStore];
    await versions(a, "k/a", 200);
    await versions(a, "k/b", 50);
    // Removals and strips in the same transactions, then removals of stripped records.
    expect(await a.compact({ ...planAll(150, "keep"), dispose: (r) => (r.version < 60 ? "remove" : "strip") })).toMatchObject({ removed: 59, stripped: 90 });
    expect(await a.compact({ ...planAll(150, "keep"), dispose: (r) => (r.key === "k/a" && r.version < 100 ? "remove" : "keep") })).toMatchObject({ removed: 40, stripped: 0 });
    await a.commit(() => [set("k/c", 1)]);
    const head = a.headRevision;
    await until("b follows", () => b.headRevision === head && b.firstRevision === 150);
    for (const s of [a, b]) expect(await s.verify()).toMatchObject({ ok: true, scope: "full", from: 1, to: head });
    // A record left below the horizon, stripped, then taken away behind compaction's back.
    const L = new EtcdLayout(prefix);
    await etcd.deleteRange({ key: L.log(120) });
    expect(await b.verify()).toMatchObject({ ok: false, firstBadRevision: 150, reason: expect.stringMatching(/below the compaction horizon 150 differ/) });
  });

  it("finds every version left after compaction removed the sparse version entries below them, and the revision at every time after the horizon", async () => {
    const { stores } = await replicas(1);
    const a = stores[0]!;
    await versions(a, "deep", 300);
    await a.compact({ ...planAll(300, "keep"), dispose: (r) => (r.version <= 140 ? "remove" : "keep") });
    // Versions 1, 65 and 129 held the version entries below 193: they are gone.
    expect(await a.version("deep", 140)).toBeUndefined();
    for (const v of [141, 150, 192, 193, 250, 300]) expect((await a.version("deep", v))!.value).toBe(v);
    expect(await a.revisionAt(Date.now())).toBe(a.headRevision);
  });

  it("writes nothing when the replica that runs it does not lead, or lost the lead without noticing", async () => {
    const { stores, prefix, archives } = await replicas(2);
    const leading = new Set<number>();
    stores.forEach((s, i) => s.campaign(`replica-${i}`, 5, { elected: () => leading.add(i), deposed: () => leading.delete(i) }));
    await until("one replica leads", () => leading.size === 1);
    const leader = [...leading][0]!;
    const other = stores[1 - leader]!;
    await versions(other, "k/a", 10);
    await until("both follow", () => stores.every((s) => s.headRevision === 10));
    await expect(other.compact(planAll(8, "remove"))).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining(`replica-${leader}`) });
    // As if the leader's lease ended while it was paused: the key goes, and it does not know yet.
    await etcd.deleteRange({ key: new EtcdLayout(prefix).leader });
    await expect(stores[leader]!.compact(planAll(8, "remove"))).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringMatching(/no longer leads/) });
    expect(await horizonIn(prefix)).toBeUndefined();
    expect(await stores[leader]!.range(1, 10, 100)).toHaveLength(10);
    expect(stores.map((s) => s.firstRevision)).toEqual([1, 1]);
    // What it archived before etcd refused it is gone too: nothing left the store.
    for (const dir of archives) expect(readdirSync(dir)).toEqual([]);
  });

  it("a replica cut off from etcd past etcd's own history, while the horizon rose above what it applied, stops serving rather than serve a gap", async () => {
    const prefix = `/ctm-compaction/${randomUUID()}/`;
    const archiveDir = await mkdtemp(join(tmpdir(), "ctm-etcd-archive-"));
    dirs.push(archiveDir);
    const a = new EtcdLogStore(systemClock, { connection: { endpoints: [cluster.endpoints[0]!, cluster.endpoints[2]!] }, prefix, archiveDir });
    // b talks to member 1 alone, which goes away.
    const b = new EtcdLogStore(systemClock, { connection: { endpoints: [cluster.endpoints[1]!], callTimeoutMs: 1000 }, prefix });
    for (const s of [a, b]) {
      await s.open();
      open.push(s);
    }
    await versions(a, "k/a", 10);
    await until("b follows", () => b.headRevision === 10);
    await cluster.kill(1);
    try {
      await versions(a, "k/a", 10);
      await a.compact(planAll(20, "remove"));
      // etcd forgets its own history too, so b's watch cannot replay what it missed.
      const at = (await etcd.range({ key: new EtcdLayout(prefix).head })).header!.revision;
      const res = await fetch(`${cluster.members[0]!.clientUrl}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision: String(at), physical: true }) });
      expect(res.ok).toBe(true);
    } finally {
      await cluster.restart(1);
    }
    await until("b stops serving", () => b.refusal !== undefined, 20_000);
    expect(b.refusal).toMatchObject({ code: "unavailable", message: expect.stringMatching(/applied the log up to revision 10.*horizon to 20.*restart it/) });
    expect(b.headRevision).toBe(10);
    // Restarted, it loads the store afresh.
    const [again] = (await replicas(1, prefix)).stores;
    expect(again!.firstRevision).toBe(20);
    expect((await again!.history("k/a", 100)).map((r) => r.version)).toEqual([20]);
  });

  it("a compaction cut short after it published its horizon leaves reads below it refused, and the next one removes what it left", async () => {
    const { stores, prefix } = await replicas(1);
    let a = stores[0]!;
    await versions(a, "big/a", 3000);
    const running = a.compact(planAll(2900, "remove")).catch((e: unknown) => e);
    // Stop it between two transactions of removal: the horizon is public, most records still there.
    while (a.firstRevision === 1) await new Promise((r) => setImmediate(r));
    await a.close();
    expect(await running).toMatchObject({ code: "unavailable" });
    expect(decodeHorizon((await horizonIn(prefix))!.value)).toMatchObject({ revision: 2900 });
    expect(decodeHorizon((await horizonIn(prefix))!.value).digest).toBeUndefined();
    a = (await replicas(1, prefix)).stores[0]!;
    expect(a.firstRevision).toBe(2900);
    await expect(a.at("big/a", 2000)).rejects.toMatchObject({ code: "out_of_range", details: { oldest: 2900 } });
    const left = (await a.history("big/a", 10_000)).length;
    expect(left).toBeGreaterThan(101);
    // Unfinished, it vouches for the chain from its horizon on.
    expect(await a.verify()).toMatchObject({ ok: true, from: 2900 });
    const next = await a.compact(planAll(2900, "remove"));
    expect(next).toMatchObject({ horizon: 2900, previousHorizon: 2900, removed: left - 101 });
    expect((await a.history("big/a", 10_000)).map((r) => r.version)).toEqual(Array.from({ length: 101 }, (_, i) => 3000 - i));
    expect(await a.verify()).toMatchObject({ ok: true, from: 1 });
    expect(await a.history("_ctm/compactions", 10)).toHaveLength(1);
  });
});
