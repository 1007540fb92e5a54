import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/domain/clock.js";
import type { Draft, LogRecord } from "../../src/domain/record.js";
import { EtcdLogStore } from "../../src/storage/etcd/etcd-log-store.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";

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

  it("a replica that opens later finds every record, and one that is left alone indexes what a dead writer did not", async () => {
    const prefix = `/ctm-replicas/${randomUUID()}/`;
    const [a] = await replicas(1, prefix);
    for (let i = 0; i < 20; i++) await a!.commit(() => [set(`late/${i % 4}`, i)]);
    const [b] = await replicas(1, prefix);
    expect(b!.headRevision).toBe(20);
    expect(b!.latestUnder("late/")).toEqual(a!.latestUnder("late/"));
    expect(await b!.history("late/1", 10)).toEqual(await a!.history("late/1", 10));
    expect(await b!.revisionAt(Date.now())).toBe(20);
  });
});
