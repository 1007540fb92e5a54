import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, connect, rejects, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";
import { WatchStream } from "../helpers/watch-stream.js";

// Three real ctmd processes with --store etcd on one real 3-member etcd cluster.
let cluster: EtcdCluster;
let daemons: Daemon[] = [];
let clients: Client[] = [];

beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
  const prefix = `/ctm-it/${randomUUID()}/`;
  daemons = await Promise.all(
    [0, 1, 2].map((i) => Daemon.start({ args: ["--store", "etcd", "--etcd-endpoints", [...cluster.endpoints.slice(i), ...cluster.endpoints.slice(0, i)].join(","), "--etcd-prefix", prefix] })),
  );
  clients = daemons.map((d) => connect(d.address));
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const d of daemons) await d.dispose();
  await cluster?.stop();
});

async function until(what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("ctmd replicas with --store etcd", () => {
  it("write on any replica, read your write on it at once, and on every other one as it follows", async () => {
    const writes = await Promise.all(Array.from({ length: 60 }, (_, i) => api(clients[i % 3]!).set({ key: `app/k${i % 6}`, value: { i }, author: `replica${i % 3}` })));
    const revs = writes.map((w) => w.entry!.revision).sort((a, b) => a - b);
    // One global, gap-free revision across the replicas.
    expect(revs).toEqual(Array.from({ length: 60 }, (_, i) => revs[0]! + i));
    // Read-your-writes on the replica that acknowledged it.
    for (let i = 0; i < 3; i++) {
      const [w] = await Promise.all([api(clients[i]!).set({ key: `ryw/${i}`, value: i })]);
      const g = await api(clients[i]!).get({ key: `ryw/${i}` });
      expect(g.entry!.revision).toBe(w!.entry!.revision);
    }
    const last = Math.max(...revs) + 3;
    for (const c of clients) {
      await until("a replica follows", async () => (await api(c).get({ key: "ryw/2" }).catch(() => undefined))?.entry?.revision === last);
      const h = await api(c).history({ key: "app/k0", limit: 100 });
      expect(h.entries.map((e) => e.version)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    }
  });

  it("a compare-and-set that another replica beat answers ABORTED, and writes nothing", async () => {
    const first = await api(clients[0]!).set({ key: "cas/x", value: 1 });
    await until("replica 1 follows", async () => (await api(clients[1]!).get({ key: "cas/x" }).catch(() => undefined))?.entry?.version === 1);
    await api(clients[0]!).set({ key: "cas/x", value: 2, expectedVersion: 1 });
    // Replica 1 may not have seen version 2 yet: the store catches up before it decides.
    const e = await rejects(api(clients[1]!).set({ key: "cas/x", value: 3, expectedVersion: 1 }));
    expect(e.code).toBe(10);
    const h = await api(clients[2]!).history({ key: "cas/x", limit: 10 });
    expect(h.entries.every((x) => x.revision >= first.entry!.revision)).toBe(true);
  });

  it("a Watch on one replica sees the writes made through the others, in order, and resumes on another replica from last + 1", async () => {
    const start = (await api(clients[0]!).set({ key: "w/start", value: 0 })).entry!.revision;
    const w = new WatchStream(clients[0]!, { key: "w/", prefix: true, startRevision: start });
    const made: number[] = [start];
    for (let i = 1; i <= 30; i++) made.push((await api(clients[i % 3]!).set({ key: `w/${i}`, value: i })).entry!.revision);
    await w.until(() => w.events.length >= 31);
    expect(w.events.map((e) => e.revision)).toEqual(made);
    w.cancel();
    const resumeAt = made[15]! + 1;
    const w2 = new WatchStream(clients[2]!, { key: "w/", prefix: true, startRevision: resumeAt });
    await w2.until(() => w2.events.length >= 15);
    expect(w2.events.map((e) => e.revision)).toEqual(made.slice(16));
    w2.cancel();
  });
});
