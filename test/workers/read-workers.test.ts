import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigServiceClient, GetRequest, WatchStatus } from "../../src/gen/ctm/v1/config_service.js";
import { api, connect, rejects, tokenMetadata, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { metricsAddress } from "../helpers/safety-clients.js";
import { WatchStream } from "../helpers/watch-stream.js";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A connection of its own that a running worker answers (a stopped one never does). */
async function liveClient(address: string, clients: Client[]): Promise<Client> {
  for (let i = 0; i < 8; i++) {
    const c = new ConfigServiceClient(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    clients.push(c);
    const answered = await new Promise<boolean>((resolve) =>
      c.get(GetRequest.fromPartial({ key: "probe" }), new grpc.Metadata(), { deadline: Date.now() + 1000 }, (e) => resolve(e === null || e.code !== grpc.status.DEADLINE_EXCEEDED)),
    );
    if (answered) return c;
  }
  throw new Error("no connection reached a running worker");
}

const workerPids = (d: Daemon): number[] => (d.logs.find((l) => l.msg === "listening")?.workers as number[] | undefined) ?? [];
/** Which processes logged a served RPC of `method`. */
const servedBy = (d: Daemon, method: string): Set<number> => new Set(d.logs.filter((l) => l.msg === "rpc" && l.method === method).map((l) => Number(l.pid)));

describe("ctmd --workers 2", () => {
  let daemon: Daemon;
  const clients: Client[] = [];
  // A connection of its own each: grpc-js would otherwise share one between clients of one address.
  const client = (): Client => {
    const c = new ConfigServiceClient(daemon.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    daemon = await Daemon.start({ args: ["--workers", "2"] });
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon?.dispose();
  });

  it("forks two workers that serve Get while the primary serves writes and history", async () => {
    const pids = workerPids(daemon);
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(daemon.pid);
    // Connections are spread over the workers: several clients reach both.
    const many = Array.from({ length: 8 }, () => api(client()));
    await many[0]!.set({ key: "w/a", value: { n: 1 } });
    for (const c of many) expect((await c.get({ key: "w/a" })).value).toEqual({ n: 1 });
    const h = await many[1]!.history({ key: "w/a" });
    expect(h.entries.map((e) => e.version)).toEqual([1]);
    // Log lines are written in batches: wait for them.
    await until(() => servedBy(daemon, "Get").size === 2 && servedBy(daemon, "History").size === 1, "Gets logged by both workers");
    expect([...servedBy(daemon, "Get")].sort()).toEqual([...pids].sort());
    expect([...servedBy(daemon, "Set")]).toEqual([daemon.pid]);
    expect([...servedBy(daemon, "History")]).toEqual([daemon.pid]);
  });

  it("reads its own writes on the connection it wrote through, every time", async () => {
    const c = api(client());
    for (let i = 0; i < 200; i++) {
      const set = await c.set({ key: "w/ryw", value: i });
      const got = await c.get({ key: "w/ryw" });
      expect(got.value).toBe(i);
      expect(got.header!.revision).toBeGreaterThanOrEqual(set.entry!.revision);
    }
  });

  it("answers a refused write with the primary's status and trailers, unchanged", async () => {
    const c = api(client());
    await c.set({ key: "w/cas", value: 1 });
    const e = await rejects(c.set({ key: "w/cas", value: 2, expectedVersion: 7 }));
    expect(e.code).toBe(grpc.status.ABORTED);
    expect(e.metadata.get("ctm-field")).toEqual(["expected_version"]);
    const bad = await rejects(c.set({ key: "", value: 1 }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await c.get({ key: "w/cas" })).value).toBe(1);
  });

  it("replays a Watch from revision 1 through a worker, then follows live writes, nothing missed or repeated", async () => {
    const writer = api(client());
    for (let i = 0; i < 50; i++) await writer.set({ key: `wz/k${i % 5}`, value: i });
    const head = (await writer.get({ key: "wz/k0" })).header!.revision;
    const w = new WatchStream(client(), { key: "wz/", prefix: true, startRevision: 1 });
    await w.until(() => w.events.length === 50);
    for (let i = 50; i < 80; i++) await writer.set({ key: `wz/k${i % 5}`, value: i });
    await w.until(() => w.events.length === 80);
    expect(w.events.map((e) => e.value)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    const revisions = w.events.map((e) => e.revision);
    expect(new Set(revisions).size).toBe(80);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    const seen = revisions[59]!;
    w.cancel();
    // Resume elsewhere (another connection, perhaps another worker) from last seen + 1.
    const r = new WatchStream(client(), { key: "wz/", prefix: true, startRevision: seen + 1 });
    await r.until(() => r.events.length === 20);
    expect(r.events.map((e) => e.revision)).toEqual(revisions.slice(60));
    expect(r.responses[0]!.status).toBe(WatchStatus.WATCH_STATUS_CREATED);
    expect(head).toBeLessThan(revisions[50]!);
    r.cancel();
  });

  it("makes a batch of 10,000 records visible on a worker whole, never part of it", async () => {
    const writer = api(client());
    const put = async (generation: number): Promise<number> => {
      let revision = 0;
      for (let b = 0; b < 10; b++) {
        const operations = Array.from({ length: 1000 }, (_, i) => ({ operation: { $case: "set" as const, value: { key: `wb/k${String(b * 1000 + i).padStart(5, "0")}`, value: generation } } }));
        revision = (await writer.apply({ operations })).header!.revision;
      }
      return revision;
    };
    const past = await put(1);
    await put(2);
    // Other connections read throughout: every answer stands at a revision outside the batch.
    const readers = Array.from({ length: 4 }, () => api(client()));
    let done = false;
    const seen: number[] = [];
    const reading = readers.map(async (r) => {
      while (!done) seen.push((await r.get({ key: "wb/k00000" })).header!.revision);
    });
    const back = await writer.rollbackPrefix({ prefix: "wb/", to: { $case: "revision", value: past } });
    expect(back.restored).toBe(10_000);
    await until(async () => (await Promise.all(readers.map((r) => r.get({ key: "wb/k09999" })))).every((g) => g.value === 1), "every worker caught up");
    done = true;
    await Promise.all(reading);
    const inside = seen.filter((r) => r >= back.firstRevision && r < back.lastRevision);
    expect(seen.length).toBeGreaterThan(10);
    expect(inside).toEqual([]);
  });

  it("sums every process's counters on /metrics", async () => {
    const text = async () => (await fetch(`http://${metricsAddress(daemon)}/metrics`)).text();
    const gets = (t: string) => Number(/^ctm_rpc_requests_total\{method="Get",code="OK"\} (\d+)/m.exec(t)?.[1] ?? 0);
    const before = gets(await text());
    const c = api(client());
    for (let i = 0; i < 10; i++) await c.get({ key: "w/a" });
    expect(gets(await text())).toBe(before + 10);
  });

  it("forks a new worker when one dies, and keeps serving", async () => {
    const [victim] = workerPids(daemon);
    const loadsBefore = daemon.logs.filter((l) => l.msg === "a read worker was sent every key").length;
    process.kill(victim!, "SIGKILL");
    await until(() => daemon.logs.some((l) => l.msg === "a read worker exited; starting another" && l.worker === victim), "the primary noticed");
    const c = api(client());
    await until(async () => {
      try {
        await c.set({ key: "w/after", value: 1 });
        return (await c.get({ key: "w/after" })).value === 1;
      } catch {
        return false;
      }
    }, "serving again");
  });
});

describe("ctmd --workers 2 reloading a store of many pages", () => {
  let daemon: Daemon;
  const clients: Client[] = [];

  beforeAll(async () => {
    daemon = await Daemon.start({ args: ["--workers", "2"] });
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon?.dispose();
  });

  it("sends a new worker every key in pages while commits land, then those commits in order, and it serves the latest of each", async () => {
    const writer = connect(daemon.address);
    clients.push(writer);
    const c = api(writer);
    const batch = (prefix: string, n: number, value: (j: number) => unknown) => ({ operations: Array.from({ length: n }, (_, j) => ({ operation: { $case: "set" as const, value: { key: `${prefix}${String(j).padStart(5, "0")}`, value: value(j) } } })) });
    // 50,000 keys: ten load pages.
    for (let b = 0; b < 50; b++) await c.apply(batch(`p/${String(b).padStart(2, "0")}/`, 1000, (j) => ({ b, j })));
    const [victim] = workerPids(daemon);
    const loadsBefore = daemon.logs.filter((l) => l.msg === "a read worker was sent every key").length;
    process.kill(victim!, "SIGKILL");
    await until(() => daemon.logs.some((l) => l.msg === "a read worker exited; starting another" && l.worker === victim), "the primary noticed");
    // Writes across the pages while the new worker is forked and loads: eight chains at once,
    // so that commits land every few milliseconds of its load. They go on until its load is
    // over (however long forking takes on a busy machine), and for at least 4 s.
    let round = 0;
    const deleted: string[] = [];
    const started = Date.now();
    const loads = () => daemon.logs.filter((l) => l.msg === "a read worker was sent every key").length;
    const loadOver = () => loads() > loadsBefore;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while ((Date.now() - started < 4000 || !loadOver()) && Date.now() - started < 40_000) {
          const mine = ++round;
          await c.apply(batch(`p/${String(mine % 50).padStart(2, "0")}/`, 50, (j) => ({ round: mine, j })));
          // Each round deletes a key of its own that no round sets (every round sets 0..49).
          if (mine >= 900) continue;
          const key = `p/${String((mine + 7) % 50).padStart(2, "0")}/${String(50 + mine).padStart(5, "0")}`;
          await c.delete({ key });
          deleted.push(key);
        }
      }),
    );
    const expected = new Map<string, unknown>();
    let head = 0;
    for (let page = "", first = true; first || page !== ""; first = false) {
      const r = await c.snapshot({ prefix: "p/", pageSize: 5000, pageToken: page });
      head = r.header!.revision;
      for (const e of r.entries) expected.set(e.key, e.value);
      page = r.nextPageToken;
    }
    expect(expected.size).toBe(50_000 - deleted.length);
    // Connections of their own reach both workers; each must hold exactly what the primary holds.
    for (let k = 0; k < 6; k++) {
      const reader = new ConfigServiceClient(daemon.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
      clients.push(reader);
      const r = api(reader);
      await until(async () => {
        try {
          return (await r.get({ key: "p/00/00000" })).header!.revision >= head;
        } catch {
          return false;
        }
      }, "the worker caught up");
      for (const key of [...expected.keys()].filter((_, i) => i % 97 === k)) expect((await r.get({ key })).value, key).toEqual(expected.get(key));
      for (const key of deleted.filter((_, i) => i % 6 === k)) expect((await rejects(r.get({ key }))).code, key).toBe(grpc.status.NOT_FOUND);
    }
    // The new worker's load overlapped the writes: commits waited for its last page.
    const loaded = daemon.logs.filter((l) => l.msg === "a read worker was sent every key").at(-1)!;
    expect(loaded.records).toBeGreaterThanOrEqual(50_000);
    expect(loaded.commitsMeanwhile).toBeGreaterThan(0);
    // And no worker had to be given up on and forked again on the way.
    expect(daemon.logs.filter((l) => l.msg === "a read worker exited; starting another")).toHaveLength(1);
  }, 60_000);
});

describe("ctmd --workers with auth on", () => {
  let daemon: Daemon;
  let client: Client;
  let admin: string;

  beforeAll(async () => {
    daemon = await Daemon.start({ args: ["--workers", "2", "--auth", "on", "--auth-failure-delay-max-ms", "0"] });
    admin = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
    client = connect(daemon.address);
  }, 30_000);

  afterAll(async () => {
    client?.close();
    await daemon?.dispose();
  });

  it("refuses a call without a token in the worker, and records the writer a forwarded write names", async () => {
    const e = await rejects(api(client).get({ key: "x" }));
    expect(e.code).toBe(grpc.status.UNAUTHENTICATED);
    const w = await rejects(api(client).set({ key: "x", value: 1 }));
    expect(w.code).toBe(grpc.status.UNAUTHENTICATED);
    const c = api(client, admin);
    const set = await c.set({ key: "a/x", value: 1 });
    expect(set.entry!.principal).toBe("token:bootstrap-admin");
    expect((await c.get({ key: "a/x" })).value).toBe(1);
    // A client cannot claim a certificate's principal by sending the header workers forward it in.
    const md = tokenMetadata();
    md.set("ctm-forwarded-principal", "cert:CN=admin");
    const forged = await new Promise<grpc.ServiceError | null>((resolve) => client.set({ key: "a/y", value: 1, author: "", message: "", expectedVersion: undefined, rollout: undefined }, md, (err) => resolve(err)));
    expect(forged?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe("ctmd --workers lifecycle", () => {
  it("stops every worker on SIGTERM, and its workers exit when the primary is killed", async () => {
    const a = await Daemon.start({ args: ["--workers", "2"] });
    const pidsA = workerPids(a);
    expect(pidsA.every(alive)).toBe(true);
    expect(await a.stop()).toBe(0);
    await until(() => !pidsA.some(alive), "workers gone after SIGTERM");
    await a.dispose();

    const b = await Daemon.start({ args: ["--workers", "1"] });
    const pidsB = workerPids(b);
    await b.kill();
    await until(() => !pidsB.some(alive), "workers gone after the primary's SIGKILL");
    await b.dispose();
  }, 60_000);
});

describe("ctmd --workers 2 --worker-max-lag 1", () => {
  let daemon: Daemon;
  const clients: Client[] = [];

  beforeAll(async () => {
    daemon = await Daemon.start({ args: ["--workers", "2", "--worker-max-lag", "1"] });
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon?.dispose();
  });

  it("restarts a worker that stops taking commits once 1 MiB of them wait, and the new one serves the latest", async () => {
    const [victim] = workerPids(daemon);
    // A stopped worker reads nothing from its channel: a connection the port hands to it waits,
    // so the writes go through one that the other worker answers.
    process.kill(victim!, "SIGSTOP");
    const c = api(await liveClient(daemon.address, clients));
    const note = "x".repeat(10_000);
    for (let i = 0; i < 12 && alive(victim!); i++) {
      await c.apply({ operations: Array.from({ length: 100 }, (_, j) => ({ operation: { $case: "set" as const, value: { key: `lag/${j}`, value: { i, note } } } })) });
    }
    await until(() => daemon.logs.some((l) => l.msg === "a read worker fell too far behind the commits; restarting it" && l.worker === victim && Number(l.lagBytes) > 2 ** 20), "the primary gave up on it");
    await until(() => !alive(victim!), "the stopped worker was killed");
    await until(() => daemon.logs.some((l) => l.msg === "a read worker exited; starting another" && l.worker === victim), "a new worker was forked");
    // Every connection now reaches a worker that follows the commits: each reads the last batch.
    const last = await c.get({ key: "lag/99" });
    for (let k = 0; k < 4; k++) {
      const reader = connect(daemon.address);
      clients.push(reader);
      await until(async () => {
        try {
          return JSON.stringify((await api(reader).get({ key: "lag/99" })).value) === JSON.stringify(last.value);
        } catch {
          return false;
        }
      }, "a worker serves the latest value");
    }
    // More than one batch had been written to it when it was given up on.
    expect((last.value as { i: number }).i).toBeGreaterThan(0);
  });
});
