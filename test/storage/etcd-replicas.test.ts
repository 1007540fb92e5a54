import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../src/domain/clock.js";
import type { Draft, LogRecord } from "@ctm/core/record";
import { EtcdClient } from "../../src/storage/etcd/etcd-client.js";
import { EtcdLayout } from "../../src/storage/etcd/etcd-layout.js";
import { EtcdLogStore } from "../../src/storage/etcd/etcd-log-store.js";
import { readU64, u64 } from "../../src/storage/level/codec.js";
import { leaderOnly } from "../../src/storage/leader-only.js";
import { migrateToEtcd } from "../../src/storage/etcd/migrate-to-etcd.js";
import { LEVEL_STORE_DEFAULTS, LevelLogStore } from "../../src/storage/level/level-log-store.js";
import { encodeLogValue, recordHash } from "../../src/storage/level/record-bytes.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";
import { DeleteGuard } from "../../src/service/delete-guard.js";
import { ReadStats } from "../../src/service/read-stats.js";
import { AuthService } from "../../src/service/auth-service.js";

// Several EtcdLogStores on one prefix are several ctmd replicas sharing one log.
let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const open: EtcdLogStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function replicas(n: number, prefix = `/ctm-replicas/${randomUUID()}/`): Promise<EtcdLogStore[]> {
  const out: EtcdLogStore[] = [];
  for (let i = 0; i < n; i++) {
    // Each replica starts its calls on a different member.
    const endpoints = [...cluster.endpoints.slice(i % 3), ...cluster.endpoints.slice(0, i % 3)];
    const s = new EtcdLogStore(systemClock, { connection: { endpoints }, prefix, indexLagMs: 200 });
    await s.open();
    open.push(s);
    out.push(s);
  }
  return out;
}

const set = (key: string, value: number, author = "t"): Draft => ({ key, value, deleted: false, author, message: "", kind: "set", cause: "api" });

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * What a writer leaves when it dies between its commit and its indexes: "dead/b" at revisions
 * 2 to 4 (on a log whose head is revision 1) and the head, no index. Returns etcd's revision.
 */
async function writeAsDeadWriter(etcd: EtcdClient, L: EtcdLayout): Promise<bigint> {
  const head = (await etcd.range({ key: L.head })).kvs[0]!;
  let prev: Buffer = Buffer.from(head.value.subarray(8, 40));
  const ops = [];
  for (let rev = 2; rev <= 4; rev++) {
    const bytes = encodeLogValue(prev, { key: "dead/b", value: rev, deleted: false, author: "gone", message: "", kind: "set", cause: "api", revision: rev, version: rev - 1, time: Date.now() });
    prev = recordHash(bytes);
    ops.push({ request: { $case: "requestPut" as const, value: { key: L.log(rev), value: bytes, lease: 0n, prevKv: false } } });
  }
  ops.push({ request: { $case: "requestPut" as const, value: { key: L.head, value: Buffer.concat([u64(4), prev]), lease: 0n, prevKv: false } } });
  return (await etcd.txn({ success: ops })).header!.revision;
}

/** Every record each replica's listeners were given, in the order given. */
function record(stores: EtcdLogStore[]): LogRecord[][] {
  return stores.map((s) => {
    const seen: LogRecord[] = [];
    s.onCommit((rs) => seen.push(...rs));
    return seen;
  });
}

describe("EtcdLogStore replicas on one etcd cluster", () => {
  it("give 64-way writes spread over three replicas one gap-free revision order, with versions counted across replicas, and every replica follows all of it", async () => {
    const stores = await replicas(3);
    const seen = record(stores);
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => stores[i % 3]!.commit((view) => [set(`k${i % 8}`, (view.head(`k${i % 8}`)?.version ?? 0) + 1, `replica${i % 3}`)])),
    );
    const revs = results.flat().map((r) => r.revision).sort((a, b) => a - b);
    expect(revs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    await until("every replica is at 300", () => stores.every((s) => s.headRevision === 300));
    const all = await stores[0]!.range(1, 300, 1000);
    for (const s of stores) expect(await s.range(1, 300, 1000)).toEqual(all);
    // Each replica's listeners saw every record once, in revision order: its own and the others'.
    for (const rs of seen) expect(rs.map((r) => r.revision)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    // Versions per key are gap-free across replicas, and each value is the version its prepare saw + 1.
    for (let k = 0; k < 8; k++) {
      const mine = all.filter((r) => r.key === `k${k}`);
      expect(mine.map((r) => r.version)).toEqual(mine.map((_, i) => i + 1));
      expect(mine.map((r) => r.value)).toEqual(mine.map((r) => r.version));
    }
    for (const s of stores) expect(s.latestUnder("")).toEqual(stores[0]!.latestUnder(""));
  });

  it("prepare queued commits again when another replica's records arrive before they are sent, never giving out a revision twice", async () => {
    const [a, b] = await replicas(2);
    await a!.commit(() => [set("s/seed", 1)]);
    await until("b follows", () => b!.headRevision === 1);
    // Hold a's first answer until a has applied, through its watch, a record b writes meanwhile.
    const client = (a as unknown as { client: { txn: (r: unknown) => Promise<unknown> } }).client;
    const txn = client.txn.bind(client);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let held = false;
    const commitTxn = (r: unknown): boolean => ((r as { compare?: { key: Uint8Array }[] }).compare ?? []).some((c) => Buffer.from(c.key).toString().endsWith("meta/head"));
    client.txn = async (r) => {
      const res = await txn(r);
      if (!held && commitTxn(r)) {
        held = true;
        await gate;
      }
      return res;
    };
    const first = a!.commit(() => [set("s/a1", 1)]);
    // Stamped on top of a1 while a1 is in flight: the next revision, as a sees it now.
    const second = a!.commit(() => [set("s/a2", 1)]);
    let fromB: LogRecord | undefined;
    try {
      // a1 is in etcd (only its answer is held) before b writes on top of it.
      await until("b follows a1", () => b!.headRevision === 2, 30_000);
      [fromB] = await b!.commit(() => [set("s/b", 1)]);
      await until("a applies b's record", () => a!.headRevision === fromB!.revision, 30_000);
    } finally {
      open();
    }
    const [[a1], [a2]] = await Promise.all([first, second]);
    expect([a1!.revision, fromB!.revision, a2!.revision]).toEqual([2, 3, 4]);
    await until("b follows a2", () => b!.headRevision === 4);
    const log = await b!.range(1, 4, 10);
    expect(log.map((r) => r.key)).toEqual(["s/seed", "s/a1", "s/b", "s/a2"]);
    for (const s of [a!, b!]) expect(await s.verify()).toMatchObject({ ok: true, recordsChecked: 4 });
  });

  it("keep commits gap-free and chained while steady writers on three replicas race, and tell each writer what the log holds", async () => {
    const stores = await replicas(3);
    // 16 writers per replica, each committing as soon as its last commit is answered: the
    // replicas keep moving the head under each other's transactions.
    const writer = async (s: EtcdLogStore, w: number): Promise<LogRecord[]> => {
      const mine: LogRecord[] = [];
      for (let i = 0; i < 12; i++) mine.push(...(await s.commit((view) => [set(`p${w % 5}`, (view.head(`p${w % 5}`)?.version ?? 0) + 1, `w${w}`)])));
      return mine;
    };
    const acked = (await Promise.all(Array.from({ length: 48 }, (_, w) => writer(stores[w % 3]!, w)))).flat();
    const total = 48 * 12;
    expect(acked.map((r) => r.revision).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await until(`every replica is at ${total}`, () => stores.every((s) => s.headRevision === total));
    const all = await stores[0]!.range(1, total, total);
    // What each writer was told is what the log holds at that revision.
    const byRev = new Map(all.map((r) => [r.revision, r]));
    for (const r of acked) expect(byRev.get(r.revision)).toEqual(r);
    for (let k = 0; k < 5; k++) {
      const mine = all.filter((r) => r.key === `p${k}`);
      expect(mine.map((r) => r.value)).toEqual(mine.map((_, i) => i + 1));
    }
    for (const s of stores) expect(await s.verify()).toMatchObject({ ok: true, recordsChecked: total });
  });

  it("finds every version of a key with hundreds, and the revision at every moment, from the sparse version and time indexes alone", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    const clock = new ManualClock(1_700_000_000_000);
    const writer = new EtcdLogStore(clock, { connection: { endpoints: cluster.endpoints }, prefix });
    await writer.open();
    const acked: LogRecord[] = [];
    for (let i = 0; i < 300; i++) {
      // Several records share each millisecond, and some commits hold two records.
      if (i % 3 === 0) clock.advance(1);
      const drafts = i % 3 === 2 ? [set("other", i), set("deep", i)] : [set("deep", i)];
      acked.push(...(await writer.commit(() => drafts)));
    }
    await writer.close();
    // A replica opened now holds nothing above meta/indexed: every answer comes from etcd's indexes.
    const [reader] = await replicas(1, prefix);
    const deep = acked.filter((r) => r.key === "deep");
    expect(deep).toHaveLength(300);
    for (const r of deep) expect(await reader!.version("deep", r.version)).toEqual(r);
    expect(await reader!.version("deep", 301)).toBeUndefined();
    expect(await reader!.version("other", 100)).toEqual(acked.filter((r) => r.key === "other")[99]);
    expect(await reader!.version("none", 1)).toBeUndefined();
    const first = acked[0]!.time;
    expect(await reader!.revisionAt(first - 1)).toBe(0);
    for (let t = first; t <= acked[acked.length - 1]!.time + 1; t++) {
      expect(await reader!.revisionAt(t)).toBe(Math.max(...acked.filter((r) => r.time <= t).map((r) => r.revision)));
    }
  });

  it("lands a commit too large for one etcd transaction whole: another replica sees none of it, then all of it at once", async () => {
    const [a, b] = await replicas(2);
    const batches: LogRecord[][] = [];
    b!.onCommit((rs) => batches.push([...rs]));
    await a!.commit(() => [set("before", 1)]);
    const big = await a!.commitAlone(async () => Array.from({ length: 600 }, (_, i) => set(`big/${i}`, i)));
    expect(big.map((r) => r.revision)).toEqual(Array.from({ length: 600 }, (_, i) => i + 2));
    // Meanwhile a write through the other replica waits for it, then follows it.
    const [after] = await b!.commit(() => [set("after", 1)]);
    expect(after!.revision).toBe(602);
    await until("a follows", () => a!.headRevision === 602);
    const withBig = batches.find((rs) => rs.some((r) => r.key.startsWith("big/")))!;
    expect(withBig.filter((r) => r.key.startsWith("big/"))).toHaveLength(600);
    expect((await b!.pageAt("big/", 601, 1000)).records).toHaveLength(600);
    expect(await b!.verify()).toMatchObject({ ok: true, recordsChecked: 602 });
  });

  it("syncToHead catches a replica up with writes made elsewhere even while its own watch is down", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    // a talks to member 0; b follows through member 1, which goes away.
    const a = new EtcdLogStore(systemClock, { connection: { endpoints: [cluster.endpoints[0]!, cluster.endpoints[2]!] }, prefix });
    const b = new EtcdLogStore(systemClock, { connection: { endpoints: [cluster.endpoints[1]!, cluster.endpoints[2]!] }, prefix });
    await a.open();
    open.push(a);
    await b.open();
    open.push(b);
    await a.commit(() => [set("sync/x", 1)]);
    await until("b follows", () => b.headRevision === 1);
    await cluster.kill(1);
    try {
      for (let i = 2; i <= 6; i++) {
        const [r] = await a.commit(() => [set("sync/x", i)]);
        // Its watch is down (it reconnects after a pause): only reading etcd's head brings b up to date.
        await b.syncToHead();
        expect(b.latest("sync/x")).toEqual(r);
        expect(b.headRevision).toBe(i);
      }
    } finally {
      await cluster.restart(1);
    }
  });

  it("keeps serving writes and reads when one etcd member of three is killed, and takes it back", async () => {
    const [a, b] = await replicas(2);
    const writes = Array.from({ length: 64 }, (_, i) => (i % 2 ? a : b)!.commit(() => [set(`m/${i}`, i)]));
    await cluster.kill(0);
    try {
      const more = Array.from({ length: 64 }, (_, i) => (i % 2 ? a : b)!.commit(() => [set(`m/${64 + i}`, i)]));
      const done = (await Promise.all([...writes, ...more])).flat();
      expect(done.map((r) => r.revision).sort((x, y) => x - y)).toEqual(Array.from({ length: 128 }, (_, i) => i + 1));
      await until("both replicas are at 128", () => a!.headRevision === 128 && b!.headRevision === 128);
      expect(await a!.history("m/5", 10)).toHaveLength(1);
    } finally {
      await cluster.restart(0);
    }
    const [r] = await a!.commit(() => [set("m/after", 1)]);
    expect(r!.revision).toBe(129);
  });

  it("a replica that opens later finds every record, each key's history and the time index", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    const [a] = await replicas(1, prefix);
    for (let i = 0; i < 20; i++) await a!.commit(() => [set(`late/${i % 4}`, i)]);
    const [b] = await replicas(1, prefix);
    expect(b!.headRevision).toBe(20);
    expect(b!.latestUnder("late/")).toEqual(a!.latestUnder("late/"));
    expect(await b!.history("late/1", 10)).toEqual(await a!.history("late/1", 10));
    expect(await b!.revisionAt(Date.now())).toBe(20);
  });

  it("writes a commit's indexes in the commit's own transaction when they fit, in the indexer's right after when they do not, and keeps groups small enough for theirs to fit", async () => {
    const layout = (prefix: string) => new EtcdLayout(prefix);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const modOf = async (key: Buffer) => (await etcd.range({ key })).kvs[0]?.modRevision;
    try {
      // Eight writers at once: group commit puts them in one or two transactions.
      const roomy = `/ctm-replicas/${randomUUID()}/`;
      const [a] = await replicas(1, roomy);
      const rs = (await Promise.all(Array.from({ length: 8 }, (_, i) => a!.commit(() => [set(`inline/${i % 3}`, i)])))).flat();
      const L = layout(roomy);
      expect(readU64((await etcd.range({ key: L.indexed })).kvs[0]!.value)).toBe(8);
      for (const r of rs) {
        const mod = await modOf(L.log(r.revision));
        expect(await modOf(L.keyRev(r.key, r.revision))).toBe(mod);
      }
      // meta/indexed moved with the last transaction's records, and no transaction of its own.
      expect(await modOf(L.indexed)).toBe(await modOf(L.log(8)));
      expect(await modOf(L.headOf("inline/1"))).toBe(await modOf(L.log(8)));

      // Five records and meta/head fit 8 operations; their indexes do not.
      const tight = `/ctm-replicas/${randomUUID()}/`;
      const b = new EtcdLogStore(systemClock, { connection: { endpoints: cluster.endpoints }, prefix: tight, maxTxnOps: 8 });
      await b.open();
      open.push(b);
      await b.commit(() => Array.from({ length: 5 }, (_, i) => set(`tight/${i}`, i)));
      const T = layout(tight);
      const deadline = Date.now() + 10_000;
      while (readU64((await etcd.range({ key: T.indexed })).kvs[0]?.value ?? Buffer.alloc(8)) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(readU64((await etcd.range({ key: T.indexed })).kvs[0]!.value)).toBe(5);
      expect(await modOf(T.indexed)).toBeGreaterThan((await modOf(T.log(5)))!);
      expect((await b.history("tight/3", 10)).map((r) => r.revision)).toEqual([4]);

      // Eight writers at once on 16 operations a transaction: the eight records would fit one,
      // their indexes would not, so the queue goes out in groups that carry their own indexes.
      const capped = `/ctm-replicas/${randomUUID()}/`;
      const c = new EtcdLogStore(systemClock, { connection: { endpoints: cluster.endpoints }, prefix: capped, maxTxnOps: 16, indexLagMs: 600_000 });
      await c.open();
      open.push(c);
      const cs = (await Promise.all(Array.from({ length: 8 }, (_, i) => c.commit(() => [set(`capped/${i}`, i)])))).flat();
      const C = layout(capped);
      for (const r of cs) expect(await modOf(C.keyRev(r.key, r.revision))).toBe(await modOf(C.log(r.revision)));
      expect(await modOf(C.indexed)).toBe(await modOf(C.log(8)));
    } finally {
      etcd.close();
    }
  });

  it("waits for the writers a transaction answered, so that writers in a loop share transactions instead of taking turns in halves", async () => {
    const [a] = await replicas(1);
    const before = a!.stats;
    // Sixteen writers, each committing again as soon as its last commit lands, ten times.
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; i < 10; i++) await a!.commit(() => [set(`loop/${w}`, i)]);
      }),
    );
    const after = a!.stats;
    expect(after.records - before.records).toBe(160);
    expect(a!.headRevision).toBe(160);
    // Taking turns in halves: the first writer alone, then the other fifteen, then the first
    // again... 20 transactions. Waiting for the answered ones: all sixteen together from the
    // third transaction on, 11.
    expect(after.batches - before.batches).toBeLessThanOrEqual(12);
  });

  it("indexes what a writer that died before indexing left in the next commit's own transaction, when it fits", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    // A lag far beyond the test: only a commit can index the dead writer's records here.
    const a = new EtcdLogStore(systemClock, { connection: { endpoints: cluster.endpoints }, prefix, indexLagMs: 600_000 });
    await a.open();
    open.push(a);
    await a.commit(() => [set("dead/a", 1)]);
    const L = new EtcdLayout(prefix);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const modOf = async (key: Buffer) => (await etcd.range({ key })).kvs[0]?.modRevision;
    try {
      await writeAsDeadWriter(etcd, L);
      await until("a follows the dead writer's records", () => a.headRevision === 4);
      expect(await modOf(L.keyRev("dead/b", 2))).toBeUndefined();
      const [r] = await a.commit(() => [set("dead/c", 5)]);
      expect(r!.revision).toBe(5);
      const mod = await modOf(L.log(5));
      for (const rev of [2, 3, 4]) expect(await modOf(L.keyRev("dead/b", rev))).toBe(mod);
      expect(readU64((await etcd.range({ key: L.indexed })).kvs[0]!.value)).toBe(5);
      expect(await modOf(L.indexed)).toBe(mod);
      expect((await a.history("dead/b", 10)).map((x) => x.revision)).toEqual([4, 3, 2]);
    } finally {
      etcd.close();
    }
  });

  it("indexes the records a writer that died before indexing them left, once they have waited indexLagMs", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    const [a] = await replicas(1, prefix);
    await a!.commit(() => [set("dead/a", 1)]);
    const layout = new EtcdLayout(prefix);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const indexed = async () => readU64((await etcd.range({ key: layout.indexed })).kvs[0]!.value);
    try {
      for (let i = 0; i < 200 && (await indexed()) < 1; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await indexed()).toBe(1);
      expect(await writeAsDeadWriter(etcd, layout)).toBeGreaterThan(0n);
      await until("a follows the dead writer's records", () => a!.headRevision === 4);
      // a did not commit them, so it indexes them only once they have waited indexLagMs (200 ms here).
      const deadline = Date.now() + 10_000;
      while ((await indexed()) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await indexed()).toBe(4);
      const [b] = await replicas(1, prefix);
      expect(b!.stats.openLogReads).toBe(2);
      expect((await b!.history("dead/b", 10)).map((r) => r.revision)).toEqual([4, 3, 2]);
    } finally {
      etcd.close();
    }
  });

  it("elects one leader; a leader-only write elsewhere is refused and writes nothing; another replica takes over when the leader goes", async () => {
    const stores = await replicas(3);
    const leading = new Set<number>();
    const events: string[] = [];
    stores.forEach((s, i) =>
      s.campaign(`r${i}`, 2, {
        elected: () => (leading.add(i), events.push(`+${i}`)),
        deposed: () => (leading.delete(i), events.push(`-${i}`)),
      }),
    );
    await until("one replica leads", () => leading.size === 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(leading.size).toBe(1);
    const leader = [...leading][0]!;
    const other = (leader + 1) % 3;
    const [ok] = await leaderOnly(() => stores[leader]!.commit(() => [set("loop/milestone", 1, "scheduler")]));
    expect(ok!.revision).toBe(1);
    await expect(leaderOnly(() => stores[other]!.commit(() => [set("loop/milestone", 2, "scheduler")]))).rejects.toMatchObject({ code: "failed_precondition" });
    // A client's write is served by any replica.
    const [client] = await stores[other]!.commit(() => [set("api/x", 1)]);
    expect(client!.revision).toBe(2);
    await until("every replica is at 2", () => stores.every((s) => s.headRevision === 2));
    expect((await stores[0]!.history("loop/milestone", 10)).map((r) => r.value)).toEqual([1]);
    // The leader closes (it resigns): another takes over, within the TTL.
    const t0 = Date.now();
    await stores[leader]!.close();
    await until("another replica leads", () => leading.size === 1 && !leading.has(leader), 5000);
    expect(Date.now() - t0).toBeLessThan(2000);
    const next = [...leading][0]!;
    const [again] = await leaderOnly(() => stores[next]!.commit(() => [set("loop/milestone", 3, "scheduler")]));
    expect(again!.revision).toBe(3);
  });

  it("fences an old leader that has not noticed it lost the leadership: its leader-only write is refused in etcd and writes nothing", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    const [a] = await replicas(1, prefix);
    let leads = false;
    a!.campaign("a", 5, { elected: () => (leads = true), deposed: () => (leads = false) });
    await until("a leads", () => leads);
    // As if a's lease expired while it was paused: the key goes, and a does not know yet.
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    try {
      await etcd.deleteRange({ key: new EtcdLayout(prefix).leader });
      expect(leads).toBe(true);
      await expect(leaderOnly(() => a!.commit(() => [set("loop/step", 1, "scheduler")]))).rejects.toMatchObject({ code: "failed_precondition" });
      expect(a!.headRevision).toBe(0);
      expect((await etcd.range({ key: new EtcdLayout(prefix).head })).kvs).toHaveLength(0);
      // Its client writes still go through.
      expect((await a!.commit(() => [set("api/y", 1)]))[0]!.revision).toBe(1);
    } finally {
      etcd.close();
    }
  });
});

describe("leader-only commits that wait", () => {
  it("a leader-only commitAlone that waits for another commitAlone keeps its fence: on a replica that does not lead it is refused and writes nothing", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    const [a, b] = await replicas(2, prefix);
    let bLeads = false;
    b!.campaign("b", 5, { elected: () => (bLeads = true), deposed: () => (bLeads = false) });
    await until("b leads", () => bLeads);
    let aLeads = false;
    a!.campaign("a", 5, { elected: () => (aLeads = true), deposed: () => (aLeads = false) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A client's commitAlone on a (a prefix rollback, say) holds the store while it prepares...
    const client = a!.commitAlone(async () => {
      await gate;
      return [set("api/a", 1)];
    });
    // ...and a leader-only one made meanwhile waits for it, then runs in its context.
    const loop = leaderOnly(() => a!.commitAlone(async () => [set("loop/x", 1, "scheduler")]));
    release();
    expect((await client)[0]!.key).toBe("api/a");
    await expect(loop).rejects.toMatchObject({ code: "failed_precondition" });
    expect(aLeads).toBe(false);
    await b!.syncToHead();
    expect(b!.latest("loop/x")).toBeUndefined();
    expect(await b!.history("loop/x", 10)).toEqual([]);
  });
});

describe("migrateToEtcd", () => {
  it("moves an embedded store's whole history to etcd: every revision, version, time, author and kind, with history, time travel and the chain intact", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctm-migrate-"));
    const clock = new ManualClock(Date.UTC(2025, 0, 1));
    const level = new LevelLogStore(dir, clock, LEVEL_STORE_DEFAULTS);
    await level.open();
    try {
      for (let i = 0; i < 300; i++) {
        clock.advance(1000);
        await level.commit(() => [set(`mig/${i % 7}`, i, `author${i % 3}`)]);
      }
      await level.commit(() => [{ key: "mig/1", deleted: true, author: "ana", message: "gone", kind: "delete", cause: "api" }]);
      await level.commit(() => [{ key: "mig/2", value: 5, deleted: false, author: "bo", message: "back", kind: "rollback", cause: "api", rolledBackTo: 1 }]);
      const prefix = `/ctm-migrated/${randomUUID()}/`;
      const seen: number[] = [];
      const report = await migrateToEtcd(level, { endpoints: cluster.endpoints }, prefix, (done) => seen.push(done));
      expect(report).toMatchObject({ records: 302, keys: 7, headRevision: 302 });
      expect(seen.at(-1)).toBe(302);
      const [etcd] = await replicas(1, prefix);
      expect(etcd!.headRevision).toBe(302);
      // Opened from the heads the migration wrote: one read per key, none per record.
      expect(etcd!.stats.openLogReads).toBe(7);
      expect(await etcd!.range(1, 302, 1000)).toEqual(await level.range(1, 302, 1000));
      expect(etcd!.latestUnder("mig/")).toEqual(level.latestUnder("mig/"));
      for (const k of ["mig/0", "mig/1", "mig/2"]) expect(await etcd!.history(k, 100)).toEqual(await level.history(k, 100));
      expect(await etcd!.at("mig/3", 150)).toEqual(await level.at("mig/3", 150));
      expect(await etcd!.revisionAt(Date.UTC(2025, 0, 1) + 120_500)).toBe(await level.revisionAt(Date.UTC(2025, 0, 1) + 120_500));
      expect(await etcd!.verify()).toMatchObject({ ok: true, recordsChecked: 302 });
      // It goes on from there, and a second migration into the same prefix is refused.
      expect((await etcd!.commit(() => [set("mig/new", 1)]))[0]!.revision).toBe(303);
      await expect(migrateToEtcd(level, { endpoints: cluster.endpoints }, prefix)).rejects.toMatchObject({ code: "failed_precondition" });
    } finally {
      await level.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("EtcdLogStore when etcd loses its quorum", () => {
  it("refuses writes with UNAVAILABLE and a clear message, keeps serving reads from memory, and writes again once the quorum is back", async () => {
    const own = await EtcdCluster.start(3);
    const store = new EtcdLogStore(systemClock, { connection: { endpoints: own.endpoints, callTimeoutMs: 1500 }, prefix: "/quorum/" });
    try {
      await store.open();
      const [first] = await store.commit(() => [set("q/a", 1)]);
      expect(store.writeOutage).toBeUndefined();
      await own.kill(1);
      await own.kill(2);
      // Known without a write: the replica checks that a read needing the quorum is answered.
      await until("writes are known to be out", () => store.writeOutage !== undefined, 20_000);
      expect(store.writeOutage).toMatch(/writes are refused, reads are served from memory/);
      const t0 = Date.now();
      const refused = await store.commit(() => [set("q/a", 2)]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ code: "unavailable", message: expect.stringMatching(/lost its quorum or be out of reach; writes are refused until it answers, reads are served from memory/) });
      // Within about two call deadlines, not minutes.
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(store.latest("q/a")).toEqual(first);
      expect(store.healthy).toBe(true);
      await own.restart(1);
      await own.restart(2);
      let written: LogRecord[] | undefined;
      for (let i = 0; i < 100 && !written; i++) {
        written = await store.commit(() => [set("q/a", 3)]).catch(() => undefined);
        if (!written) await new Promise((r) => setTimeout(r, 200));
      }
      // etcd may still apply the refused write once its quorum is back (its proposal outlived our
      // deadline): then it is there once, and the next write follows it with no gap either way.
      const h = (await store.history("q/a", 10)).reverse();
      expect(h.map((r) => r.value)).toEqual(written![0]!.revision === 3 ? [1, 2, 3] : [1, 3]);
      expect(h.map((r) => r.revision)).toEqual(h.map((_, i) => i + 1));
      expect(h.map((r) => r.version)).toEqual(h.map((_, i) => i + 1));
      await until("writes are known to be back", () => store.writeOutage === undefined, 5_000);
    } finally {
      await store.close().catch(() => undefined);
      await own.stop();
    }
  }, 60_000);

  it("add up the read counts every replica saves instead of one overwriting another's, and the delete guard counts a read made on another replica", async () => {
    const [a, b] = await replicas(2);
    const clock = new ManualClock(1_700_000_000_000);
    const [idA, idB] = ["a".repeat(16), "b".repeat(16)];
    const onA = new ReadStats(a!, clock, 60_000, idA);
    const onB = new ReadStats(b!, clock, 60_000, idB);
    await Promise.all([onA.load(), onB.load()]);
    for (let i = 0; i < 3; i++) onA.touch("k", clock.now());
    clock.advance(1000);
    for (let i = 0; i < 5; i++) onB.touch("k", clock.now());
    onB.touch("only-b", clock.now());
    await Promise.all([onA.flush(), onB.flush()]);
    // Each saved its own: neither flush overwrote the other's counts.
    const guard = new DeleteGuard(onA, clock, 60_000);
    expect(onA.of("only-b")).toEqual({ reads: 0, lastRead: 0 });
    await guard.ready(["only-b", "k"]);
    expect(onA.of("only-b")).toEqual({ reads: 1, lastRead: clock.now() });
    expect(onA.of("k")).toEqual({ reads: 8, lastRead: clock.now() });
    expect(() => guard.check("only-b", false, "key")).toThrow(/was read 0 s ago .*1 reads counted/);
    // A replica that starts again under its name finds its own counts and the others'.
    const again = new ReadStats(a!, clock, 60_000, idA);
    await again.load();
    expect(again.of("k")).toEqual({ reads: 8, lastRead: clock.now() });
    again.touch("k", clock.now());
    await again.flush();
    const third = new ReadStats(b!, clock, 60_000, "c".repeat(16));
    await third.load();
    expect(third.of("k").reads).toBe(9);
    await Promise.all([onA.close(), onB.close(), again.close(), third.close()]);
  });

  it("the delete guard reads what other replicas saved of 300 keys in a few etcd calls, not one per key, and counts them all", async () => {
    const [a, b] = await replicas(2);
    const clock = new ManualClock(1_700_000_000_000);
    const onA = new ReadStats(a!, clock, 60_000, "a".repeat(16));
    const onB = new ReadStats(b!, clock, 60_000, "b".repeat(16));
    const onC = new ReadStats(b!, clock, 60_000, "c".repeat(16));
    await Promise.all([onA.load(), onB.load(), onC.load()]);
    const keys = Array.from({ length: 300 }, (_, i) => `many/${i}`);
    // Key i: 1 to 3 reads on replica b, and one on c for every tenth key; a read none of them.
    keys.forEach((k, i) => {
      for (let n = 0; n <= i % 3; n++) onB.touch(k, clock.now());
      if (i % 10 === 0) onC.touch(k, clock.now() + 1);
    });
    await Promise.all([onB.flush(), onC.flush()]);
    const guard = new DeleteGuard(onA, clock, 60_000);
    const before = await cluster.kvCalls();
    await guard.ready(keys);
    const calls = (await cluster.kvCalls()) - before;
    // 300 prefixes at 128 Ranges a transaction are 3 calls; the stores' own quorum reads (one a
    // second each) may fall in between. One Range per key would be 300.
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThanOrEqual(8);
    keys.forEach((k, i) => expect(onA.of(k), k).toEqual({ reads: (i % 3) + 1 + (i % 10 === 0 ? 1 : 0), lastRead: clock.now() + (i % 10 === 0 ? 1 : 0) }));
    await Promise.all([onA.close(), onB.close(), onC.close()]);
  });

  it("keep each replica's note of when tokens were last used, and start from the newest time any replica saved", async () => {
    const [a] = await replicas(1);
    const [t1, t2] = ["1".repeat(16), "2".repeat(16)];
    await a!.writeNote(`auth/token-last-used@${"a".repeat(16)}`, Buffer.from(JSON.stringify({ [t1]: 100, [t2]: 900 })));
    await a!.writeNote(`auth/token-last-used@${"b".repeat(16)}`, Buffer.from(JSON.stringify({ [t1]: 500 })));
    const auth = new AuthService(a!, systemClock);
    await auth.loadUsage(60_000);
    const lastUsed = (auth as unknown as { lastUsed: Map<string, number> }).lastUsed;
    expect(Object.fromEntries(lastUsed)).toEqual({ [t1]: 500, [t2]: 900 });
    await auth.close();
  });
});
