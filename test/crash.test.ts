import { afterEach, describe, expect, it } from "vitest";
import { api, connect, headRevision, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const WRITERS = 64;

describe("durability", () => {
  it("every acknowledged Set survives kill -9 during 64-way concurrent writes", async () => {
    const daemon = await Daemon.start();
    cleanups.push(() => daemon.dispose());
    const client: Client = connect(daemon.address);
    const c = api(client);
    const acked = new Array<number>(WRITERS).fill(0);
    let killed = false;
    let total = 0;

    const writer = async (w: number): Promise<void> => {
      for (let n = 1; !killed; n++) {
        try {
          const r = await c.set({ key: `crash/w${w}`, value: { n, pad: "x".repeat(100) }, author: `writer-${w}` });
          if (r.entry!.version !== n) throw new Error(`writer ${w}: version ${r.entry!.version} for write ${n}`);
          acked[w] = n;
          total++;
        } catch (e) {
          if (killed) return;
          throw e;
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    // Kill once a good number of writes is acknowledged; it lands mid-stream of 64 in-flight sets.
    while (total < 3000) await new Promise((r) => setTimeout(r, 5));
    killed = true;
    await daemon.kill();
    await Promise.all(writers);
    client.close();

    await daemon.launch();
    const after = connect(daemon.address);
    cleanups.push(() => after.close());
    const c2 = api(after);
    let sumVersions = 0;
    for (let w = 0; w < WRITERS; w++) {
      const got = await c2.get({ key: `crash/w${w}` });
      const n = (got.entry!.value as { n: number }).n;
      // The write in flight at the kill may or may not have landed; everything acknowledged did.
      expect(n).toBeGreaterThanOrEqual(acked[w]!);
      expect(n).toBeLessThanOrEqual(acked[w]! + 1);
      expect(got.entry!.version).toBe(n);
      sumVersions += n;
    }
    // Gap-free: the head revision counts exactly the records that survived.
    expect(await headRevision(after)).toBe(sumVersions);
    expect(acked.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3000);
  });

  it("a RollbackPrefix of 12,000 keys, written from a worker thread in parts, survives kill -9 whole or not at all", async () => {
    // Past THREADED_BATCH (10,000 records): the rollback's batch is written from the worker thread.
    const KEYS = 12_000;
    const daemon = await Daemon.start();
    cleanups.push(() => daemon.dispose());
    let client = connect(daemon.address);
    cleanups.push(() => client.close());
    let c = api(client);
    const key = (i: number) => `big/k${String(i).padStart(5, "0")}`;
    const writeAll = async (generation: number): Promise<void> => {
      for (let at = 0; at < KEYS; at += 1000) {
        await c.apply({ operations: Array.from({ length: 1000 }, (_, i) => ({ operation: { $case: "set" as const, value: { key: key(at + i), value: { generation, pad: "x".repeat(200) } } } })) });
      }
    };
    /** Every key's generation, and whether the head counts exactly the records written. */
    const state = async (): Promise<Set<number>> => {
      const generations = new Set<number>();
      let token = "";
      let n = 0;
      do {
        const page = await c.snapshot({ prefix: "big/", pageToken: token });
        for (const e of page.entries) generations.add((e.value as { generation: number }).generation);
        n += page.entries.length;
        token = page.nextPageToken;
      } while (token !== "");
      expect(n).toBe(KEYS);
      return generations;
    };
    await writeAll(1);
    const past = await headRevision(client);
    // One whole run first: how long the rollback takes here, and that it is written from a thread.
    await writeAll(2);
    let t0 = performance.now();
    expect((await c.rollbackPrefix({ prefix: "big/", to: { $case: "revision", value: past } })).restored).toBe(KEYS);
    const tookMs = performance.now() - t0;
    expect(await state()).toEqual(new Set([1]));
    client.close();
    expect(await daemon.stop()).toBe(0);
    const stopped = daemon.logs.filter((l) => l.msg === "stopped").at(-1) as { threadedBatches: number; batchParts: number; records: number };
    // The rollback's records went in one batch written from the worker thread, in two synced
    // parts (BATCH_PART is 8,192 records); the Applies' did not.
    expect(stopped.threadedBatches).toBe(1);
    expect(stopped.batchParts).toBe(2);
    await daemon.launch();
    client = connect(daemon.address);
    c = api(client);

    // Then kill -9 at several points of it: each time it lands whole or not at all.
    const outcomes: string[] = [];
    for (const share of [0.5, 0.9, 1.1]) {
      await writeAll(2);
      const before = await headRevision(client);
      t0 = performance.now();
      const run = c.rollbackPrefix({ prefix: "big/", to: { $case: "revision", value: past } }).then(
        () => "acknowledged",
        () => "cut off",
      );
      await new Promise((r) => setTimeout(r, Math.max(0, tookMs * share - (performance.now() - t0))));
      await daemon.kill();
      const acked = await run;
      client.close();
      await daemon.launch();
      client = connect(daemon.address);
      c = api(client);
      const generations = await state();
      const head = await headRevision(client);
      // All or nothing: every key rolled back (KEYS more records), or none (not one more).
      expect([...generations].length).toBe(1);
      if (generations.has(1)) expect(head).toBe(before + KEYS);
      else expect(head).toBe(before);
      if (acked === "acknowledged") expect(generations).toEqual(new Set([1]));
      outcomes.push(`${acked}: ${generations.has(1) ? "landed" : "not landed"}`);
    }
    expect(outcomes).toHaveLength(3);
  }, 180_000);

  it("concurrent Sets share synced batches (group commit)", async () => {
    const daemon = await Daemon.start();
    cleanups.push(() => daemon.dispose());
    const client = connect(daemon.address);
    const c = api(client);
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => c.set({ key: `gc/${w}`, value: round })));
    }
    client.close();
    expect(await daemon.stop()).toBe(0);
    const stopped = daemon.logs.find((l) => l.msg === "stopped") as { records: number; batches: number };
    expect(stopped.records).toBe(640);
    // 640 durable sets in far fewer fsynced batches: each batch served many sets.
    expect(stopped.batches).toBeLessThan(640 / 4);
  });
});
