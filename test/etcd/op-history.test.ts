import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { WatchStatus } from "../../src/gen/ctm/v1/config_service.js";
import type { Entry } from "../../src/gen/ctm/v1/record.js";
import { api, connect, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";
import { OpHistory, validate, type LogEntry, type Operation, type Outcome, type ReadOp, type WatchOp, type WriteOp } from "../helpers/op-history.js";
import { WatchStream } from "../helpers/watch-stream.js";

const rec = (revision: number, key: string, version: number, message: string, deleted = false): LogEntry => ({ revision, key, version, deleted, message });
const LOG = [rec(1, "a", 1, "w1"), rec(2, "b", 1, "w2"), rec(3, "a", 2, "w3"), rec(4, "a", 3, "w4", true)];

/** A history that keeps every promise over LOG; each case below breaks one. */
function valid(): Operation[] {
  const base = (id: number, client: string, replica: string, invoke: number) => ({ id, client, replica, invoke, return: invoke + 1, outcome: "ok" as Outcome });
  const write = (i: number, replica: string): WriteOp => {
    const e = LOG[i]!;
    return { ...base(i + 1, "writer", replica, 2 * i), kind: e.deleted ? "delete" : "set", key: e.key, tag: e.message, entry: { ...e }, revision: e.revision };
  };
  const read = (id: number, replica: string, invoke: number, key: string, revision: number, consistent = false): ReadOp => {
    const entry = LOG.filter((e) => e.key === key && e.revision <= revision).at(-1)!;
    return { ...base(id, "reader", replica, invoke), kind: "get", key, consistent, entry: { ...entry }, revision };
  };
  const watch = (id: number, key: string, prefix: boolean, start: number, revs: number[], progress = 0): WatchOp => ({
    ...base(id, "watcher", "r0.1", 0),
    return: 20,
    kind: "watch",
    key,
    prefix,
    start,
    events: revs.map((r) => ({ ...LOG[r - 1]! })),
    progress,
  });
  return [
    write(0, "r0.1"), write(1, "r1.1"), write(2, "r0.1"), write(3, "r1.1"),
    read(5, "r0.1", 5, "a", 3),
    read(6, "r2.1", 8, "b", 4, true),
    // Another process, started later, may trail a consistent read made elsewhere: not promised.
    read(7, "r2.2", 9, "b", 2),
    watch(8, "a", false, 1, [1, 3, 4]),
    watch(9, "", true, 3, [3, 4]),
    watch(10, "b", false, 1, [2], 4),
  ];
}

const op = <T extends Operation>(h: Operation[], id: number) => h.find((o) => o.id === id) as T;
const cases: [string, (h: Operation[], log: LogEntry[]) => void][] = [
  ["ordered", (h) => (op<WatchOp>(h, 8).events = [1, 4, 3].map((r) => LOG[r - 1]!))],
  ["unique", (h) => (op<WatchOp>(h, 8).events = [1, 3, 3, 4].map((r) => LOG[r - 1]!))],
  ["reliable", (h) => (op<WatchOp>(h, 8).events = [1, 4].map((r) => LOG[r - 1]!))],
  ["resumable", (h) => (op<WatchOp>(h, 9).events = [LOG[3]!])],
  ["event-off-log", (h) => (op<WatchOp>(h, 8).events[1] = { ...LOG[2]!, version: 9 })],
  ["read-went-back", (h) => h.push({ ...op<ReadOp>(h, 5), id: 11, invoke: 7, return: 8, revision: 1, entry: LOG[0]! })],
  ["consistent-read-stale", (h) => Object.assign(op<ReadOp>(h, 6), { revision: 3 })],
  ["read-off-log", (h) => (op<ReadOp>(h, 5).entry = LOG[0]!)],
  ["lost-write", (h) => h.push({ ...op<WriteOp>(h, 3), id: 11, invoke: 30, return: 31, tag: "w5", entry: rec(5, "a", 4, "w5") })],
  ["wrong-revision", (h) => (op<WriteOp>(h, 3).entry!.revision = 2)],
  ["written-twice", (_, log) => log.push(rec(5, "b", 2, "w2"))],
  ["refused-write-landed", (h) => (op<WriteOp>(h, 3).outcome = "failed")],
  ["log-gap", (_, log) => log.push(rec(6, "c", 1, "x"))],
];

describe("the history validator", () => {
  it("finds nothing wrong with a history that keeps every promise", () => {
    expect(validate(valid(), LOG)).toEqual([]);
  });

  it.each(cases)("detects a break of %s, and names it", (kind, breakIt) => {
    const h = valid();
    const log = LOG.map((e) => ({ ...e }));
    breakIt(h, log);
    const found = validate(h, log);
    expect(found.map((v) => v.split(":")[0])).toEqual([kind]);
    expect(found[0]).toMatch(/#\d+ \(\w+ on r\d\.\d\)|log/);
  });
});

// The scenario: 3 etcd members, 3 ctmd replicas, writers, readers and watchers that move
// between replicas while one replica is killed (-9) and another stopped gracefully.
let cluster: EtcdCluster | undefined;
interface Replica { daemon: Daemon; n: number; life: number; client: Client; up: boolean }
const replicas: Replica[] = [];

afterAll(async () => {
  for (const r of replicas) {
    r.client.close();
    await r.daemon.dispose();
  }
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toLog = (e: Entry): LogEntry => ({ revision: e.revision, key: e.key, version: e.version, deleted: e.deleted, message: e.message });
// Codes that say the call did nothing; any other failure (UNAVAILABLE above all) leaves a write's fate open.
const REFUSED = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.FAILED_PRECONDITION, grpc.status.ABORTED, grpc.status.OUT_OF_RANGE]);
const outcomeOf = (e: unknown): Outcome => (REFUSED.has((e as grpc.ServiceError).code) ? "failed" : "unknown");

describe("every client operation under replica restarts keeps the promises of GUARANTEES.md", () => {
  it("writers, readers and moving watchers on 3 replicas; the recorded history validates against the final log", async () => {
    cluster = await EtcdCluster.start(3);
    const eps = cluster.endpoints;
    const prefix = `/ctm-it/${randomUUID()}/`;
    for (let n = 0; n < 3; n++) {
      const args = ["--store", "etcd", "--etcd-endpoints", [...eps.slice(n), ...eps.slice(0, n)].join(","), "--etcd-prefix", prefix, "--watch-progress-ms", "300"];
      const daemon = await Daemon.start({ args });
      replicas.push({ daemon, n, life: 1, client: connect(daemon.address), up: true });
    }
    const history = new OpHistory();
    let running = true;
    const pick = (i: number) => {
      const up = replicas.filter((r) => r.up);
      const r = up[i % up.length]!;
      return { client: r.client, replica: `r${r.n}.${r.life}` };
    };
    const run = async <T extends WriteOp | ReadOp>(o: T, call: Promise<{ header?: { revision: number }; entry?: Entry }>): Promise<Entry | undefined> => {
      try {
        const res = await call;
        history.end(o, "ok", { entry: toLog(res.entry!), revision: res.header!.revision } as Partial<T>);
        return res.entry;
      } catch (e) {
        history.end(o, outcomeOf(e));
        await sleep(50);
        return undefined;
      }
    };

    const writer = async (w: number) => {
      for (let n = 0; running; n++, await sleep(5)) {
        const { client, replica } = pick(w + n);
        const c = api(client);
        const [key, tag, who] = [`oh/k${(w + n) % 6}`, `w${w}.${n}`, `writer${w}`];
        if (n % 25 === 24) {
          await run(history.begin<WriteOp>({ kind: "delete", client: who, replica, key, tag }), c.delete({ key, message: tag, force: true }));
        } else if (n % 4 === 3) {
          // Compare-and-set on the version this replica shows: it may lose to another writer.
          const got = await run(history.begin<ReadOp>({ kind: "get", client: who, replica, key, consistent: false }), c.get({ key }));
          if (got) await run(history.begin<WriteOp>({ kind: "set", client: who, replica, key, tag, expectedVersion: got.version }), c.set({ key, value: tag, message: tag, expectedVersion: got.version }));
        } else {
          await run(history.begin<WriteOp>({ kind: "set", client: who, replica, key, tag }), c.set({ key, value: tag, message: tag }));
        }
      }
    };
    const reader = async (i: number) => {
      for (let n = 0; running; n++, await sleep(5)) {
        // A new replica every few reads: plain reads there may trail, consistent ones may not.
        const { client, replica } = pick(i + Math.floor(n / 4));
        const [key, consistent] = [`oh/k${n % 6}`, n % 3 === 0];
        await run(history.begin<ReadOp>({ kind: "get", client: `reader${i}`, replica, key, consistent }), api(client).get({ key, consistent }));
      }
    };
    const watcher = async (i: number, key: string, prefix: boolean) => {
      let start = 1;
      for (let moves = 0; running; moves++) {
        const { client, replica } = pick(i + moves);
        const o = history.begin<WatchOp>({ kind: "watch", client: `watcher${i}`, replica, key, prefix, start, events: [], progress: 0 });
        const s = new WatchStream(client, { key, prefix, startRevision: start });
        const until = Date.now() + 700 + 300 * i;
        await s.until(() => s.error !== undefined || s.ended || !running || Date.now() > until);
        // What the client saw when it dropped the stream: anything after is not its to see.
        const progress = Math.max(0, ...s.responses.filter((r) => r.status === WatchStatus.WATCH_STATUS_PROGRESS).map((r) => r.header!.revision));
        history.end(o, s.error ? "failed" : "ok", { events: s.events.map(toLog), progress });
        s.cancel();
        if (o.events.length > 0) start = o.events.at(-1)!.revision + 1;
        if (s.error) await sleep(50);
      }
    };
    const bounce = async (r: Replica, how: "kill" | "stop") => {
      r.up = false;
      await (how === "kill" ? r.daemon.kill() : r.daemon.stop());
      r.client.close();
      await r.daemon.launch();
      Object.assign(r, { client: connect(r.daemon.address), life: r.life + 1, up: true });
    };

    const clients = [
      ...[0, 1, 2, 3].map(writer),
      ...[0, 1, 2].map(reader),
      watcher(0, "oh/", true),
      watcher(1, "oh/k1", false),
      watcher(2, "", true),
    ];
    try {
      await sleep(3000);
      await bounce(replicas[1]!, "kill");
      await sleep(2500);
      await bounce(replicas[2]!, "stop");
      await sleep(3000);
    } finally {
      // A restart that failed stops the clients too, so nothing calls a closed channel.
      running = false;
      await Promise.allSettled(clients);
    }

    // The final log: everything from revision 1 up to etcd's head, read on a replica that stayed up.
    const c0 = replicas[0]!.client;
    const head = (await api(c0).snapshot({ prefix: "", pageSize: 1, consistent: true })).header!.revision;
    const all = new WatchStream(c0, { key: "", prefix: true, startRevision: 1 });
    await all.until(() => all.events.length >= head, 30_000);
    all.cancel();
    const log = all.events.map(toLog);

    expect(validate(history.ops, log)).toEqual([]);
    // A history worth validating: many acknowledged writes of each kind, reads of both kinds,
    // watch events, every watcher moved, and the restarted processes served calls.
    const ok = history.ops.filter((o) => o.outcome === "ok");
    const writes = ok.filter((o): o is WriteOp => o.kind !== "get" && o.kind !== "watch");
    expect(writes.length).toBeGreaterThan(200);
    expect(writes.filter((w) => w.expectedVersion !== undefined).length).toBeGreaterThan(10);
    expect(writes.filter((w) => w.kind === "delete").length).toBeGreaterThan(2);
    const reads = ok.filter((o): o is ReadOp => o.kind === "get");
    expect(reads.filter((r) => r.consistent).length).toBeGreaterThan(50);
    expect(reads.filter((r) => !r.consistent).length).toBeGreaterThan(100);
    const streams = history.ops.filter((o): o is WatchOp => o.kind === "watch");
    expect(streams.reduce((n, s) => n + s.events.length, 0)).toBeGreaterThan(500);
    for (const i of [0, 1, 2]) expect(new Set(streams.filter((s) => s.client === `watcher${i}` && s.events.length > 0).map((s) => s.replica)).size).toBeGreaterThan(1);
    expect(ok.some((o) => o.replica === "r1.2") && ok.some((o) => o.replica === "r2.2")).toBe(true);
  }, 120_000);
});
