import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { api, connect, rejects, type Client } from "../helpers/client.js";
import { CtmClient } from "../../clients/ts/src/index.js";
import { ctm } from "../cli/run-ctm.js";
import { Daemon, runDaemonToExit } from "../helpers/daemon.js";
import type { EtcdCluster } from "../helpers/etcd-cluster.js";
import { elected, EtcdReplicas } from "../helpers/etcd-replicas.js";
import { freePort } from "../helpers/prometheus.js";
import { until } from "../helpers/until.js";
import { WatchStream } from "../helpers/watch-stream.js";

// Three real ctmd processes with --store etcd on one real 3-member etcd cluster.
let replicas: EtcdReplicas;
let cluster: EtcdCluster;
let clients: Client[] = [];

beforeAll(async () => {
  replicas = await EtcdReplicas.start(3, { spread: true });
  ({ cluster, clients } = replicas);
}, 90_000);

afterAll(async () => {
  await replicas?.stop();
});

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

  it("Get and Snapshot with consistent, on any replica, answer the write another replica just acknowledged", async () => {
    for (let i = 0; i < 30; i++) {
      const w = await api(clients[i % 3]!).set({ key: `consistent/${i % 4}`, value: i });
      const reader = clients[(i + 1) % 3]!;
      const g = await api(reader).get({ key: `consistent/${i % 4}`, consistent: true });
      expect(g.entry!.revision).toBe(w.entry!.revision);
      expect(g.header!.revision).toBeGreaterThanOrEqual(w.entry!.revision);
      const snap = await api(clients[(i + 2) % 3]!).snapshot({ prefix: "consistent/", consistent: true });
      expect(snap.entries.find((e) => e.key === `consistent/${i % 4}`)!.revision).toBe(w.entry!.revision);
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

  it("one replica runs the scheduler; SIGSTOP it past its lease and another takes over; after SIGCONT no milestone is written twice", async () => {
    // Two more replicas with a short lease and a fast scheduler, on their own prefix.
    const pair = await EtcdReplicas.start(2, { cluster, args: ["--etcd-lease-ttl", "2", "--scheduler-interval-ms", "100"] });
    const { daemons: fast, clients: fc } = pair;
    try {
      await until("one replica leads", async () => fast.filter(elected).length === 1);
      const leader = fast.findIndex(elected);
      const other = 1 - leader;
      const c = api(fc[other]!);
      await c.set({ key: "roll", value: "old" });
      // Ten steps of 10%, one every 400 ms: milestones fall due while the leader is stopped.
      await c.set({ key: "roll", value: "new", rollout: { salt: "", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, percentage: { $case: "steps", value: { start: 10, increment: 10, interval: { seconds: 0, nanos: 400_000_000 }, target: 100 } } } as never });
      await new Promise((r) => setTimeout(r, 500));
      fast[leader]!.signal("SIGSTOP");
      try {
        await until("the other replica leads", async () => elected(fast[other]!), 10_000);
        await new Promise((r) => setTimeout(r, 1500));
      } finally {
        fast[leader]!.signal("SIGCONT");
      }
      await until("the rollout is finalized", async () => (await c.history({ key: "roll", limit: 100 })).entries.some((e) => e.kind === RecordKind.RECORD_KIND_ROLLOUT_FINALIZED), 15_000);
      await new Promise((r) => setTimeout(r, 1000));
      const h = (await c.history({ key: "roll", limit: 100 })).entries.reverse();
      const milestones = h.filter((e) => e.kind === RecordKind.RECORD_KIND_ROLLOUT_MILESTONE).map((e) => e.message);
      // Every step once: none twice, none lost, in order.
      expect(new Set(milestones).size).toBe(milestones.length);
      expect(milestones.length).toBe(9);
      expect(h.filter((e) => e.kind === RecordKind.RECORD_KIND_ROLLOUT_FINALIZED)).toHaveLength(1);
      const revs = h.map((e) => e.revision);
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
    } finally {
      await pair.stop();
    }
  });

  it("ctmd migrate copies a stopped embedded store to etcd; replicas on it serve the same history, and --store etcd needs its endpoints", async () => {
    const level = await Daemon.start();
    const prefix = `/ctm-it/${randomUUID()}/`;
    try {
      const lc = connect(level.address);
      for (let i = 0; i < 25; i++) await api(lc).set({ key: `moved/${i % 5}`, value: i, author: "ana", message: `change ${i}` });
      const before = await api(lc).history({ key: "moved/3", limit: 100 });
      lc.close();
      await level.stop();
      const out = await runDaemonToExit(["migrate", "--from", level.dataDir, "--etcd-endpoints", cluster.endpoints.join(","), "--etcd-prefix", prefix, "--json"]);
      expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({ records: 25, keys: 5, headRevision: 25 });
      const again = await runDaemonToExit(["migrate", "--from", level.dataDir, "--etcd-endpoints", cluster.endpoints.join(","), "--etcd-prefix", prefix]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already holds a ctm log/);
      const replica = await EtcdReplicas.start(1, { cluster, prefix });
      const rc = replica.clients[0]!;
      try {
        expect(await api(rc).history({ key: "moved/3", limit: 100 })).toMatchObject({ entries: before.entries });
        expect((await api(rc).set({ key: "moved/new", value: 1 })).entry!.revision).toBe(26);
      } finally {
        await replica.stop();
      }
    } finally {
      await level.dispose();
    }
    // A directory with no store is refused, and nothing is made there.
    const missing = join(tmpdir(), `ctm-no-store-${randomUUID()}`);
    const none = await runDaemonToExit(["migrate", "--from", missing, "--etcd-endpoints", cluster.endpoints.join(","), "--etcd-prefix", `/ctm-it/${randomUUID()}/`]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/holds no ctm store to copy/);
    expect(existsSync(missing)).toBe(false);
    const refused = await runDaemonToExit(["--store", "etcd"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--store etcd needs --etcd-endpoints/);
    // An etcd that cannot be reached stops the start with a message that says where it looked.
    const port = await freePort();
    const scratch = join(tmpdir(), `ctm-unreachable-${randomUUID()}`);
    const unreachable = await runDaemonToExit(["--store", "etcd", "--etcd-endpoints", `127.0.0.1:${port}`, "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", scratch]);
    await rm(scratch, { recursive: true, force: true });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(new RegExp(`could not read the ctm log from etcd at 127\\.0\\.0\\.1:${port}`));
  });

  it("the TS SDK and the CLI take every replica's address: when one replica is killed, calls go to the others and the SDK's watch resumes there with nothing missed or repeated", async () => {
    // Fixed ports, so that a replica started again is found at its address.
    const replicaPair = await EtcdReplicas.start(2, { cluster, ports: [await freePort(), await freePort()] });
    const pair = replicaPair.daemons;
    const both = pair.map((d) => d.address).join(",");
    const sdk = new CtmClient({ address: both });
    const stop = new AbortController();
    try {
      const first = await sdk.set("fo/0", 0);
      const seen: number[] = [];
      const watching = (async () => {
        for await (const e of sdk.watch("fo/", { prefix: true, startRevision: first.entry!.revision, signal: stop.signal, backoff: { initialBackoffMs: 50, maxBackoffMs: 200 } })) seen.push(e.revision);
      })();
      const made = [first.entry!.revision];
      for (let i = 1; i <= 10; i++) made.push((await sdk.set(`fo/${i}`, i)).entry!.revision);
      await until("the watch saw the first writes", async () => seen.length >= 11);
      // Each replica in turn is killed (the first comes back before the second goes), so the
      // watch loses its stream at least once, whichever replica it was on.
      const writeMore = async (from: number, to: number): Promise<void> => {
        for (let i = from; i <= to; i++) {
        for (let tries = 0; ; tries++) {
          // A write in flight on the killed replica may fail with UNAVAILABLE: the caller retries it with a compare-and-set.
          const r = await sdk.set(`fo/${i}`, i, { expectedVersion: 0 }).catch((e: unknown) => e as Error);
          if (!(r instanceof Error)) {
            made.push(r.entry!.revision);
            break;
          }
          // ABORTED: an attempt the killed replica answered no more had landed.
          const there = await sdk.get(`fo/${i}`).catch(() => undefined);
          if (there) {
            made.push(there.entry!.revision);
            break;
          }
          expect(tries).toBeLessThan(20);
        }
      }
      };
      await pair[0]!.kill();
      await writeMore(11, 20);
      await pair[0]!.launch();
      await pair[1]!.kill();
      await writeMore(21, 30);
      await until("the watch saw every write", async () => seen.length >= 31, 20_000);
      expect(seen).toEqual(made);
      expect((await sdk.get("fo/30")).value).toBe(30);
      const cli = await ctm(both, ["get", "fo/30", "--json"]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ value: 30 });
    } finally {
      stop.abort();
      sdk.close();
      await replicaPair.stop();
    }
  });

  it("kill -9 of a replica during 64-way writes loses no acknowledged write, and the revisions stay gap-free", async () => {
    const replicaPair = await EtcdReplicas.start(2, { cluster });
    const { daemons: pair, clients: cs } = replicaPair;
    try {
      const acked = new Map<string, { revision: number; value: number }>();
      let stopAt = Date.now() + 2500;
      const killed = (async () => {
        await new Promise((r) => setTimeout(r, 1000));
        await pair[0]!.kill();
      })();
      await Promise.all(
        Array.from({ length: 64 }, async (_, w) => {
          for (let n = 0; Date.now() < stopAt; n++) {
            const key = `k/${w}/${n}`;
            const r = await api(cs[(w + n) % 2]!).set({ key, value: n }).catch(() => undefined);
            if (r) acked.set(key, { revision: r.entry!.revision, value: n });
          }
        }),
      );
      await killed;
      stopAt = 0;
      expect(acked.size).toBeGreaterThan(100);
      const survivor = api(cs[1]!);
      const snap = await survivor.snapshot({ prefix: "k/", pageSize: 10_000 });
      const byKey = new Map(snap.entries.map((e) => [e.key, e]));
      // Every acknowledged write is there, at the revision it was acknowledged with.
      for (const [key, a] of acked) expect(byKey.get(key), key).toMatchObject({ revision: a.revision, value: a.value });
      // No gap and no repeat: revisions 1..head are each one record.
      const head = snap.header!.revision;
      const revs = snap.entries.map((e) => e.revision).sort((x, y) => x - y);
      expect(new Set(revs).size).toBe(revs.length);
      // Every key was written once, so the records under k/ are revisions 1..head.
      expect(revs).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    } finally {
      await replicaPair.stop();
    }
  });
});
