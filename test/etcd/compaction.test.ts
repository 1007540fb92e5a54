import * as grpc from "@grpc/grpc-js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminServiceClient, type CompactResponse } from "../../src/gen/ctm/v1/admin_service.js";
import { api, call, rejects, type Client } from "../helpers/client.js";
import type { Daemon } from "../helpers/daemon.js";
import { elected, EtcdReplicas } from "../helpers/etcd-replicas.js";
import { until } from "../helpers/until.js";
import { WatchStream } from "../helpers/watch-stream.js";

// Three real ctmd processes with --store etcd on one real 3-member etcd cluster.
let replicas: EtcdReplicas;
let daemons: Daemon[] = [];
let clients: Client[] = [];
let admins: AdminServiceClient[] = [];

beforeAll(async () => {
  replicas = await EtcdReplicas.start(3, { spread: true, args: ["--compact-interval-ms", "0"] });
  ({ daemons, clients } = replicas);
  admins = daemons.map((d) => new AdminServiceClient(d.address, grpc.credentials.createInsecure()));
}, 90_000);

afterAll(async () => {
  for (const a of admins) a.close();
  await replicas?.stop();
});

const compact = (i: number): Promise<CompactResponse> => call(admins[i]!.compact.bind(admins[i]!), { author: "ops", message: "" });

describe("retention on ctmd replicas with --store etcd", () => {
  it("compacts on the leader, and another replica refuses a Watch resume and reads below the horizon with OUT_OF_RANGE", async () => {
    await until("one replica leads", async () => daemons.filter(elected).length === 1);
    const leader = daemons.findIndex(elected);
    const other = (leader + 1) % 3;
    const c = api(clients[other]!);
    await c.set({ key: "_ctm/retention/tmp", value: { keys: ["tmp/**"], keepForMs: 0, keepAuditForMs: 0 } });
    const first = (await c.set({ key: "tmp/x", value: 1 })).entry!.revision;
    for (let v = 2; v <= 4; v++) await c.set({ key: "tmp/x", value: v });
    const last = (await c.get({ key: "tmp/x" })).entry!.revision;
    await until("the leader follows", async () => (await api(clients[leader]!).get({ key: "tmp/x" })).entry?.revision === last);

    // Compaction is the leader's: another replica names it.
    const e = await rejects(compact(other));
    expect(e.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e.details).toContain(daemons[leader]!.address);

    const r = await compact(leader);
    expect(r.compaction).toMatchObject({ previousHorizon: 1, horizon: last, removed: 3, stripped: 0 });
    expect(r.compaction!.revision).toBeGreaterThan(last);
    // Its archive is in the leader's data directory.
    expect(r.compaction!.archiveFile.startsWith(join(daemons[leader]!.dataDir, "archive"))).toBe(true);
    expect(existsSync(r.compaction!.archiveFile)).toBe(true);

    await until("the other replica serves from the horizon", async () => (await c.get({ key: "tmp/x" })).header!.oldestRevision === last);
    const w = new WatchStream(clients[other]!, { key: "tmp/", prefix: true, startRevision: first + 1 });
    await w.until(() => w.error !== undefined);
    expect(w.error!.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(w.error!.details).toMatch(new RegExp(`^start_revision: revision ${first + 1} was compacted; the oldest revision served is ${last}`));
    w.cancel();
    const at = await rejects(c.getAt({ key: "tmp/x", at: { $case: "revision", value: first } }));
    expect(at.code).toBe(grpc.status.OUT_OF_RANGE);
    expect((await c.history({ key: "tmp/x" })).entries.map((x) => x.version)).toEqual([4]);
    // From the horizon on, a resume gets what follows.
    const ok = new WatchStream(clients[other]!, { key: "tmp/", prefix: true, startRevision: last });
    await ok.until(() => ok.events.length >= 1);
    expect(ok.events.map((x) => x.revision)).toEqual([last]);
    ok.cancel();
  });

  it("the retention loop runs on etcd, on the leader, and every replica serves from the horizon it raised", async () => {
    const pair = await EtcdReplicas.start(2, { cluster: replicas.cluster, args: ["--compact-interval-ms", "200"] });
    const { daemons: looping, clients: lc } = pair;
    try {
      const c = api(lc[0]!);
      for (let v = 1; v <= 3; v++) await c.set({ key: "tmp/y", value: v });
      const last = (await c.get({ key: "tmp/y" })).entry!.revision;
      // The policy last: the next run removes versions 1 and 2 at once, and nothing after.
      await c.set({ key: "_ctm/retention/tmp", value: { keys: ["tmp/**"], keepForMs: 0, keepAuditForMs: 0 } });
      for (const client of lc) await until("a replica serves from the horizon", async () => (await api(client).get({ key: "tmp/y" })).header!.oldestRevision === last);
      // The report is committed once the records are gone, after the horizon is published.
      await until("the report reaches the other replica", async () => (await api(lc[1]!).get({ key: "_ctm/compactions" }).catch(() => undefined)) !== undefined);
      const reports = await api(lc[1]!).history({ key: "_ctm/compactions" });
      expect(reports.entries.map((r) => r.author)).toEqual(["ctm-retention"]);
      const leaders = looping.filter(elected);
      expect(leaders).toHaveLength(1);
      expect(leaders[0]!.logs.some((l) => l.msg === "compacted")).toBe(true);
    } finally {
      await pair.stop();
    }
  });
});
