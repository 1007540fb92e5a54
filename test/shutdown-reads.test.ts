import { afterEach, describe, expect, it } from "vitest";
import { api, connect } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe("reads while ctmd shuts down", () => {
  it("a read cut off by the shutdown is answered (and logged) UNAVAILABLE, never INTERNAL", async () => {
    // A 1 ms grace period: reads still running when it ends meet a closing store.
    const daemon = await Daemon.start({ args: ["--shutdown-grace-ms", "1"] });
    cleanups.push(() => daemon.dispose());
    const client = connect(daemon.address);
    cleanups.push(() => client.close());
    const c = api(client);
    // 1,500 versions of 400 leaves that never change: each blame walks every version in pages,
    // for long enough that some are mid-walk whenever the store closes.
    const same = Object.fromEntries(Array.from({ length: 400 }, (_, n) => [`f${n}`, n]));
    for (let i = 0; i < 1500; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => c.set({ key: "k", value: { i: i + j, same } })));

    let running = true;
    const reader = async (): Promise<void> => {
      while (running) {
        // A Snapshot in the past reads its records on the store's reader thread, which closes with the store.
        await Promise.allSettled([c.blame({ key: "k" }), c.history({ key: "k", limit: 100 }), c.getAt({ key: "k", at: { $case: "revision", value: 3 } }), c.snapshot({ prefix: "", at: { $case: "revision", value: 3 } })]);
      }
    };
    const readers = Array.from({ length: 16 }, reader);
    await new Promise((r) => setTimeout(r, 300));
    const exit = await daemon.stop();
    running = false;
    await Promise.all(readers);
    expect(exit).toBe(0);

    const statuses = daemon.logs.filter((l) => l.msg === "rpc" && l.method !== "Set").map((l) => String(l.status));
    expect(statuses.filter((s) => s === "INTERNAL" || s === "UNKNOWN")).toEqual([]);
    expect(new Set(statuses)).toContain("UNAVAILABLE");
    expect(daemon.logs.some((l) => l.msg === "rpc" && l.method === "Snapshot" && l.status === "OK")).toBe(true);
  });
});
