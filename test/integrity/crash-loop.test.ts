import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { AdminServiceClient } from "../../src/gen/ctm/v1/admin_service.js";
import { api, call, connect, headRevision } from "../helpers/client.js";
import { Daemon, runDaemonToExit } from "../helpers/daemon.js";

/** `npm run crash -- 100` sets this; `npm test` runs a few. */
const RUNS = Number(process.env.CTM_CRASH_RUNS ?? 3);
const WRITERS = 64;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe("crash loop: kill -9 under 64 writers, again and again, on one data directory", () => {
  it(`keeps every acknowledged write, gap-free revisions and an intact hash chain over ${RUNS} kills`, { timeout: 60_000 + RUNS * 30_000 }, async () => {
    const d = await Daemon.start();
    cleanups.push(() => d.dispose());
    // The newest acknowledged value of each writer's key, across every run.
    const acked = new Array<number>(WRITERS).fill(0);
    let lost = 0;
    for (let run = 0; run < RUNS; run++) {
      const client = connect(d.address);
      const c = api(client);
      // What survived the previous kill: at least what was acknowledged, at most one more.
      for (let w = 0; w < WRITERS; w++) {
        const got = run === 0 ? 0 : ((await c.get({ key: `crash/w${w}` })).entry!.value as { n: number }).n;
        if (got < acked[w]!) lost++;
        expect(got).toBeGreaterThanOrEqual(acked[w]!);
        expect(got).toBeLessThanOrEqual(acked[w]! + 1);
        acked[w] = got;
      }
      // Gap-free: the head counts exactly the versions of all keys, which count every write.
      expect(await headRevision(client)).toBe(acked.reduce((a, b) => a + b, 0));
      const admin = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
      const v = await call(admin.verify.bind(admin), {});
      admin.close();
      expect(v.verification).toMatchObject({ ok: true, toRevision: acked.reduce((a, b) => a + b, 0) });

      let killed = false;
      let total = 0;
      const writer = async (w: number): Promise<void> => {
        while (!killed) {
          const n = acked[w]! + 1;
          try {
            const r = await c.set({ key: `crash/w${w}`, value: { n, pad: "x".repeat(64) }, author: `writer-${w}` });
            expect(r.entry!.version).toBe(n);
            acked[w] = n;
            total++;
          } catch (e) {
            if (killed) return;
            throw e;
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      // A different moment each run: after 200 to 800 acknowledged writes.
      const target = 200 + ((run * 211) % 600);
      while (total < target) await new Promise((r) => setTimeout(r, 2));
      killed = true;
      await d.kill();
      await Promise.all(writers);
      client.close();
      await d.launch();
    }
    // What survived the last kill: a write may have been stored but not acknowledged.
    const client = connect(d.address);
    const c = api(client);
    for (let w = 0; w < WRITERS; w++) {
      const got = ((await c.get({ key: `crash/w${w}` })).entry!.value as { n: number }).n;
      if (got < acked[w]!) lost++;
      expect(got - acked[w]!).toBeLessThanOrEqual(1);
      acked[w] = got;
    }
    expect(await headRevision(client)).toBe(acked.reduce((a, b) => a + b, 0));
    client.close();
    expect(lost).toBe(0);
    expect(await d.stop()).toBe(0);
    const verify = await runDaemonToExit(["verify", "--data-dir", d.dataDir, "--json"]);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, to: acked.reduce((a, b) => a + b, 0) });
  });
});
