import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { AdminServiceClient } from "../../src/gen/ctm/v1/admin_service.js";
import { api, call, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { WatchStream } from "../helpers/watch-stream.js";

/** `npm run crash -- 50` runs more; `npm test` runs a few. */
const RUNS = Number(process.env.CTM_COMPACTION_CRASH_RUNS ?? 6);
const KEYS = 100;
const ROUNDS = 20;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe("crash loop: kill -9 at random points of a compaction, again and again", () => {
  it(`keeps a consistent horizon, every retained record readable and nothing above the horizon missing, over ${RUNS} kills`, { timeout: 60_000 + RUNS * 30_000 }, async () => {
    const d = await Daemon.start();
    cleanups.push(() => d.dispose());
    // Every load/ record the daemon acknowledged: key -> [revision, value] in order.
    const model = new Map<string, [number, number][]>();
    const at = (revision: number): string[] =>
      [...model.entries()]
        .map(([key, versions]) => [key, versions.filter(([rev]) => rev <= revision).pop()] as const)
        .filter(([, v]) => v !== undefined)
        .map(([key, v]) => `${key}=${v![1]}`)
        .sort();
    let horizon = 1;
    let n = 0;
    /** How long the last compaction that finished took: kill points are spread over it. */
    let took = 0;
    let tookAt = 1;
    for (let run = 0; run < RUNS; run++) {
      const client = connect(d.address);
      const admin = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
      const c = api(client);
      if (run === 0) await c.set({ key: "_ctm/retention/load", value: { keys: ["load/**"], keepVersions: 2, keepForMs: 0, keepAuditForMs: 0 } });
      for (let round = 0; round < ROUNDS; round++) {
        n++;
        const ops = Array.from({ length: KEYS }, (_, k) => ({ operation: { $case: "set" as const, value: { key: `load/k${String(k).padStart(3, "0")}`, value: n } } }));
        const r = await c.apply({ operations: ops, author: "loader" });
        r.entries.forEach((e) => model.set(e.key, [...(model.get(e.key) ?? []), [e.revision, n]]));
      }
      // Kill at a different point of the compaction each run: before, during or after it (the
      // last run lets it finish first, so at least one lands whatever this machine's speed).
      const t0 = performance.now();
      const compaction = call(admin.compact.bind(admin), { author: "crash-loop", message: "" }).then(
        () => (took = performance.now() - t0),
        () => undefined,
      );
      // Every other run lets it finish: its time, scaled to the records there are now, spreads the
      // kills of the others over a whole compaction.
      if (run % 2 === 0) {
        await compaction;
        tookAt = n;
      } else await new Promise((r) => setTimeout(r, (0.15 + ((run * 0.37) % 1) * 0.9) * took * (n / tookAt)));
      await d.kill();
      await compaction;
      client.close();
      admin.close();
      await d.launch();

      const after = connect(d.address);
      const adm = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
      const a = api(after);
      const s = await call(adm.getRetention.bind(adm), {});
      // The horizon never goes back, and every header agrees with it.
      expect(s.oldestRevision).toBeGreaterThanOrEqual(horizon);
      const resumed = d.logs.filter((l) => l.msg === "finished a compaction that a stop cut short").length;
      if (process.env.CTM_DEBUG_CRASH) console.log(`run ${run}: horizon ${horizon} -> ${s.oldestRevision}, last compaction took ${took.toFixed(0)} ms, resumed so far ${resumed}`);
      horizon = s.oldestRevision;
      const head = (await a.get({ key: "load/k000" })).header!;
      expect(head.oldestRevision).toBe(horizon);
      // The log checks out: the chain above the horizon, the digest below it, every index.
      expect((await call(adm.verify.bind(adm), {})).verification).toMatchObject({ ok: true });
      // Every key's current record and every listing at or after the horizon are as written.
      const headRev = head.revision;
      for (const rev of [horizon, Math.floor((horizon + headRev) / 2), headRev]) {
        const page = await a.snapshot({ prefix: "load/", at: { $case: "revision", value: rev }, pageSize: 1000 });
        expect(page.entries.map((e) => `${e.key}=${e.value}`).sort()).toEqual(at(rev));
      }
      // A Watch from the horizon replays every load/ record from there, none missing.
      const expected = [...model.values()].flat().filter(([rev]) => rev >= horizon).length;
      const w = new WatchStream(after, { key: "load/", prefix: true, startRevision: horizon });
      await w.until(() => w.events.length >= expected);
      expect(w.events.map((e) => e.revision)).toEqual([...model.values()].flat().map(([rev]) => rev).filter((rev) => rev >= horizon).sort((x, y) => x - y));
      w.cancel();
      // Reads below it are refused, never answered short.
      if (horizon > 1) {
        const e = await a.getAt({ key: "load/k000", at: { $case: "revision", value: horizon - 1 } }).catch((x: grpc.ServiceError) => x);
        expect((e as grpc.ServiceError).code).toBe(grpc.status.OUT_OF_RANGE);
      }
      after.close();
      adm.close();
    }
    // Over the runs, compactions did land.
    expect(horizon).toBeGreaterThan(1);
  });
});
